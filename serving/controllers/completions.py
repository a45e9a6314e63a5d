"""POST /v1/chat/completions: OpenAI-compatible, so existing chat clients and the openai SDK work unchanged."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import msgspec
from litestar import Controller, Response, post
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from serving.chat import ChatService
from serving.controllers.streaming import ReplyEvents, event_stream
from serving.domain import Answer, Question
from serving.errors import AUTHENTICATED, JiwaError, documented
from serving.ownership import Ownership
from serving.schemas import (
    CompletionChoice,
    CompletionChoiceMessage,
    CompletionRequest,
    CompletionResponse,
    CompletionUsage,
    ContentPart,
    is_blank,
)

CONVERSATION_HEADER = "X-Jiwa-Conversation-Id"
ANONYMOUS_PREFIX = "anonymous-"


def _text(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for part in content or ():
        if part.type != "text":
            continue
        if part.text is None:
            raise JiwaError("a content part of type 'text' needs a 'text' string", field="messages")
        texts.append(part.text)
    return "".join(texts)


async def _anonymous(owner: Ownership, conversation_id: str | None) -> str:
    """Without `user`, a conversation has an id of its own that no other conversation shares: Jiwa answers without
    memory of earlier conversations, and no two end users of a tenant share a profile."""
    if conversation_id:
        return (await owner.conversation(conversation_id)).user_id
    return f"{ANONYMOUS_PREFIX}{uuid.uuid4().hex}"


@dataclass
class CompletionEvents(ReplyEvents):
    """OpenAI's chunks: the assistant's role, a chunk per text delta, the stop chunk, then [DONE]."""

    completion_id: str
    created: int
    model: str

    def chunk(self, delta: dict, finish: str | None) -> ServerSentEventMessage:
        body = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return ServerSentEventMessage(data=msgspec.json.encode(body).decode())

    def opening(self) -> list[ServerSentEventMessage]:
        return [self.chunk({"role": "assistant", "content": ""}, None)]

    def delta(self, text: str) -> ServerSentEventMessage:
        return self.chunk({"content": text}, None)

    def done(self, answer: Answer) -> list[ServerSentEventMessage]:
        return [self.chunk({}, "stop")]

    def closing(self) -> list[ServerSentEventMessage]:
        return [ServerSentEventMessage(data="[DONE]")]


class CompletionsController(Controller):
    path = "/v1/chat/completions"
    tags = ["openai-compatible"]

    @post(
        operation_id="createChatCompletion",
        summary="OpenAI-compatible chat completion",
        status_code=200,
        responses=documented(400, 403, 404, 413, *AUTHENTICATED),
    )
    async def create(self, data: CompletionRequest, owner: Ownership, chat: ChatService) -> Response | ServerSentEvent:
        # Jiwa answers the last user message; what follows it (a tool result, a prefilled reply) is not a question.
        asked = [index for index, m in enumerate(data.messages) if m.role == "user"]
        if not asked or is_blank(_text(data.messages[asked[-1]].content)):
            raise JiwaError("messages must contain a non-empty user message to answer", field="messages")
        message = _text(data.messages[asked[-1]].content)
        # The client's own messages are the history; system messages from clients are not instructions to Jiwa.
        history = [
            {"role": m.role, "content": _text(m.content)}
            for m in data.messages[: asked[-1]]
            if m.role in ("user", "assistant")
        ]
        conversation_id = (data.metadata or {}).get("conversation_id")
        user_id = data.user or await _anonymous(owner, conversation_id)
        question = Question(user_id, message, conversation_id, history=history)
        created = int(time.time())

        if not data.stream:
            answer = await chat.answer(owner, question, endpoint="completions")
            body = CompletionResponse(
                id=f"chatcmpl-{answer.message_id}",
                created=created,
                model=data.model,
                choices=[CompletionChoice(0, CompletionChoiceMessage("assistant", answer.reply), "stop")],
                usage=CompletionUsage(
                    answer.input_tokens, answer.output_tokens, answer.input_tokens + answer.output_tokens
                ),
                system_fingerprint=answer.source,
            )
            return Response(body, headers={CONVERSATION_HEADER: answer.conversation_id})

        stream = await chat.stream(owner, question, endpoint="completions")
        events = CompletionEvents(
            f"chatcmpl-{stream.conversation_id}-{len(stream.conversation.turns)}", created, data.model
        )
        return event_stream(stream, events, headers={CONVERSATION_HEADER: stream.conversation_id})
