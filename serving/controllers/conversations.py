"""Conversations: read one, end one."""

from litestar import Controller, get, post

from serving.auth import Tenant
from serving.conversations import Conversation
from serving.errors import AUTHENTICATED, Forbidden, NotFound, documented
from serving.schemas import ConversationView, Turn
from serving.services import Services


async def _owned(services: Services, tenant: Tenant, conversation_id: str) -> Conversation:
    conversation = await services.conversations.conversation(conversation_id)
    if conversation is None:
        raise NotFound(f"conversation '{conversation_id}' does not exist.")
    if conversation.tenant != tenant.name:
        raise Forbidden(f"conversation '{conversation_id}' belongs to another API key.")
    return conversation


def _view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        conversation_id=conversation.conversation_id,
        user_id=conversation.user_id,
        ended=conversation.ended,
        turns=[
            Turn(t.message_id, t.role, t.content or "", t.created_at.isoformat(), t.source, list(t.insight_ids))
            for t in conversation.turns
        ],
    )


class ConversationController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]

    @get("/{conversation_id:str}", operation_id="getConversation", summary="A conversation and its turns", responses=documented(403, 404, *AUTHENTICATED))
    async def read(self, conversation_id: str, tenant: Tenant, services: Services) -> ConversationView:
        return _view(await _owned(services, tenant, conversation_id))

    @post(
        "/{conversation_id:str}/end",
        operation_id="endConversation",
        summary="Mark a conversation finished",
        status_code=200,
        responses=documented(403, 404, *AUTHENTICATED),
    )
    async def end(self, conversation_id: str, tenant: Tenant, services: Services) -> ConversationView:
        conversation = await _owned(services, tenant, conversation_id)
        if not conversation.ended:
            await services.conversations.end(conversation)
        return _view(conversation)
