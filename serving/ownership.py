"""Who may touch what: every user, conversation and message belongs to the tenant (API key) that wrote it.

A user is (tenant, user_id): the same id under two tenants is two people, and nothing a tenant sends can tell it
whether an id exists at another. One dependency, `owner`, that every controller asks before it reads or writes:
what is not this tenant's is 404, another user's conversation of the same tenant is 403, and the error names the
field that was wrong.
"""

from __future__ import annotations

from jiwa.conversations.events import LogEvent
from serving.auth import Tenant
from serving.conversations import Conversation, ConversationStore
from serving.domain import ConversationNotFound, ConversationOfAnotherUser, MessageNotFound, UserNotFound


class Ownership:
    def __init__(self, conversations: ConversationStore, tenant: Tenant) -> None:
        self._conversations = conversations
        self.tenant = tenant

    async def user(self, user_id: str) -> None:
        """The user is known to this tenant."""
        if not _storable(user_id) or not await self._conversations.user_exists(self.tenant.name, user_id):
            raise UserNotFound(user_id)

    async def conversation(self, conversation_id: str, *, user_id: str | None = None) -> Conversation:
        """The tenant's conversation; with user_id, it must also be that user's (a reply goes on in their conversation)."""
        conversation = (
            await self._conversations.conversation(self.tenant.name, conversation_id)
            if _storable(conversation_id)
            else None
        )
        if conversation is None:
            raise ConversationNotFound(conversation_id, to_continue=user_id is not None)
        if user_id is not None and conversation.user_id != user_id:
            raise ConversationOfAnotherUser(conversation_id)
        return conversation

    async def message(self, message_id: str) -> LogEvent:
        turn = await self._conversations.find_message(self.tenant.name, message_id) if _storable(message_id) else None
        if turn is None:
            raise MessageNotFound(message_id)
        return turn

    async def writer_conversation(self, user_id: str, conversation_id: str | None) -> Conversation | None:
        """For a new message: this user's conversation of this tenant (None starts a new one)."""
        return await self.conversation(conversation_id, user_id=user_id) if conversation_id else None


def _storable(identifier: str) -> bool:
    """An id from a path or a field that no stored id can equal (NUL, absurd length) is simply unknown."""
    return "\x00" not in identifier and len(identifier) <= 512
