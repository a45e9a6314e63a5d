"""POST /v1/chat: Jiwa's own chat endpoint, JSON or Server-Sent Events."""

import msgspec
from litestar import Controller, post
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from serving.errors import AUTHENTICATED, documented
from serving.ownership import Ownership
from serving.schemas import ChatRequest, ChatResponse
from serving.services import Services


class ChatController(Controller):
    path = "/v1/chat"
    tags = ["chat"]

    @post(
        operation_id="createChatReply",
        summary="Answer a message",
        status_code=200,
        responses=documented(400, 403, 404, 413, *AUTHENTICATED),
    )
    # Annotated with the JSON answer so OpenAPI documents it; with stream=true the same route returns SSE.
    async def create(self, data: ChatRequest, owner: Ownership, services: Services) -> ChatResponse:
        chat = services.chat
        if not data.stream:
            return await chat.answer(owner, data.user_id, data.message, data.conversation_id, data.language)
        turn = await chat.prepare(owner, data.user_id, data.message, data.conversation_id, data.language)

        async def events():
            async for item in chat.stream(turn, endpoint="chat"):
                if isinstance(item, ChatResponse):
                    yield ServerSentEventMessage(event="done", data=msgspec.json.encode(item).decode())
                else:
                    yield ServerSentEventMessage(event="delta", data=msgspec.json.encode({"text": item}).decode())

        return ServerSentEvent(events())  # type: ignore[return-value]
