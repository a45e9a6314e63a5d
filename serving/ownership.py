"""Who may touch what: every user, conversation and message belongs to the tenant (API key) that created it.

One dependency, `owner`, that every controller asks before it reads or writes: unknown is 404, another tenant's
is 403, and the error names the field that was wrong.
"""

from jiwa.convlog import LogEvent
from serving.auth import Tenant
from serving.conversations import Conversation, ConversationStore
from serving.errors import Forbidden, NotFound


class Ownership:
    def __init__(self, conversations: ConversationStore, tenant: Tenant) -> None:
        self._conversations = conversations
        self.tenant = tenant

    def user(self, user_id: str, *, must_exist: bool = True) -> None:
        """The user is this tenant's; with must_exist=False a user never seen before is welcome (a first message)."""
        owner = self._conversations.owner_of(user_id)
        if owner is None:
            if must_exist:
                raise NotFound(f"user '{user_id}' is unknown.", field="user_id")
            return
        if owner != self.tenant.name:
            raise Forbidden(f"user '{user_id}' belongs to another API key.", field="user_id")

    async def conversation(self, conversation_id: str, *, user_id: str | None = None) -> Conversation:
        """The tenant's conversation; with user_id, it must also be that user's (a reply goes on in their conversation)."""
        conversation = await self._conversations.conversation(conversation_id)
        if conversation is None:
            hint = "; omit conversation_id to start one" if user_id is not None else ""
            raise NotFound(f"conversation '{conversation_id}' does not exist{hint}.", field="conversation_id")
        if conversation.tenant != self.tenant.name or (user_id is not None and conversation.user_id != user_id):
            whose = "another user" if conversation.tenant == self.tenant.name else "another API key"
            raise Forbidden(f"conversation '{conversation_id}' belongs to {whose}.", field="conversation_id")
        return conversation

    async def message(self, message_id: str) -> LogEvent:
        turn = await self._conversations.find_message(message_id)
        if turn is None:
            raise NotFound(f"message '{message_id}' does not exist.", field="message_id")
        if turn.tenant != self.tenant.name:
            raise Forbidden(f"message '{message_id}' belongs to another API key.", field="message_id")
        return turn

    async def writer_conversation(self, user_id: str, conversation_id: str | None) -> Conversation | None:
        """For a new message: the user may write here, in this conversation of theirs (None starts a new one)."""
        self.user(user_id, must_exist=False)
        return await self.conversation(conversation_id, user_id=user_id) if conversation_id else None
