"""POST /v1/chat: Jiwa's own chat endpoint, JSON or Server-Sent Events."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.response.sse import ServerSentEventMessage

from serving.chat import ChatService
from serving.controllers.streaming import ReplyEvents, event_stream
from serving.domain import Answer, Question
from serving.errors import AUTHENTICATED, documented
from serving.ownership import Ownership
from serving.schemas import ChatRequest, ChatResponse, TokenUsage


def chat_response(answer: Answer) -> ChatResponse:
    return ChatResponse(
        reply=answer.reply,
        conversation_id=answer.conversation_id,
        message_id=answer.message_id,
        source=answer.source,
        cache_intent=answer.cache_intent,
        insight_ids=answer.insight_ids,
        timings_ms={stage: round(seconds * 1000, 3) for stage, seconds in answer.timings.items()},
        usage=TokenUsage(answer.input_tokens, answer.output_tokens),
    )


class ChatEvents(ReplyEvents):
    """`delta` events of text, then one `done` event with the whole ChatResponse."""

    def delta(self, text: str) -> ServerSentEventMessage:
        return ServerSentEventMessage(event="delta", data=msgspec.json.encode({"text": text}).decode())

    def done(self, answer: Answer) -> list[ServerSentEventMessage]:
        return [ServerSentEventMessage(event="done", data=msgspec.json.encode(chat_response(answer)).decode())]


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
    async def create(self, data: ChatRequest, owner: Ownership, chat: ChatService) -> ChatResponse:
        question = Question(data.user_id, data.message, data.conversation_id, data.language)
        if not data.stream:
            return chat_response(await chat.answer(owner, question))
        return event_stream(await chat.stream(owner, question), ChatEvents())  # type: ignore[return-value]
