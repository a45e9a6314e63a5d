"""Server-Sent Events of a streamed reply: one loop for both chat endpoints, each of which only words the events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from serving.chat import ReplyStream
from serving.domain import Answer


class ReplyEvents:
    """How an endpoint words a streamed reply: what opens it, each text delta, the stored answer, what closes it."""

    def opening(self) -> list[ServerSentEventMessage]:
        return []

    def delta(self, text: str) -> ServerSentEventMessage:
        raise NotImplementedError

    def done(self, answer: Answer) -> list[ServerSentEventMessage]:
        raise NotImplementedError

    def closing(self) -> list[ServerSentEventMessage]:
        return []


def event_stream(stream: ReplyStream, events: ReplyEvents, headers: dict[str, str] | None = None) -> ServerSentEvent:
    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        for message in events.opening():
            yield message
        async for item in stream.items:
            if isinstance(item, Answer):
                for message in events.done(item):
                    yield message
            else:
                yield events.delta(item)
        for message in events.closing():
            yield message

    return ServerSentEvent(messages(), headers=headers)
