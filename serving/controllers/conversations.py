"""Conversations: read one, end one."""

from __future__ import annotations

from litestar import Controller, get, post

from jiwa.conversations.events import LogEvent
from serving.conversations import Conversation, ConversationStore
from serving.errors import AUTHENTICATED, documented
from serving.ownership import Ownership
from serving.schemas import ConversationView, Turn


def _view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        conversation_id=conversation.conversation_id,
        user_id=conversation.user_id,
        ended=conversation.ended,
        turns=[_turn(t) for t in conversation.turns],
    )


def _turn(event: LogEvent) -> Turn:
    if event.message_id is None or event.role is None:
        raise ValueError(f"turn event {event.event_id} was stored without its message id or role")
    return Turn(
        event.message_id,
        event.role,
        event.content or "",
        event.created_at.isoformat(),
        event.source,
        list(event.insight_ids),
    )


class ConversationController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]

    @get(
        "/{conversation_id:str}",
        operation_id="getConversation",
        summary="A conversation and its turns",
        responses=documented(403, 404, *AUTHENTICATED),
    )
    async def read(self, conversation_id: str, owner: Ownership) -> ConversationView:
        return _view(await owner.conversation(conversation_id))

    @post(
        "/{conversation_id:str}/end",
        operation_id="endConversation",
        summary="Mark a conversation finished",
        status_code=200,
        responses=documented(403, 404, *AUTHENTICATED),
    )
    async def end(self, conversation_id: str, owner: Ownership, conversations: ConversationStore) -> ConversationView:
        conversation = await owner.conversation(conversation_id)
        if not conversation.ended:
            await conversations.end(conversation)
        return _view(conversation)
