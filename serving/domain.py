"""What the server's services speak, with no HTTP in it: the answer to a chat turn, and the errors of a request.

The services raise these errors; the one exception map (serving/errors.py) gives each its status code, and the
controllers turn answers into API bodies (serving/schemas.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ECHO_LIMIT = 80

# Who wrote a reply: the response cache, Claude, LLAMA locally, or the honest fallback.
Source = Literal["cache", "claude", "local", "fallback"]


def echoed(value: str) -> str:
    """A client's value quoted in an error, cut to ECHO_LIMIT characters: an error never repeats a whole upload."""
    if len(value) <= ECHO_LIMIT:
        return f"'{value}'"
    return f"'{value[:ECHO_LIMIT]}…' ({len(value)} characters)"


@dataclass(frozen=True)
class Question:
    """A message to answer: who asks, in which conversation (None starts one), in which language if the client
    says, and the history when the client keeps its own (None: the stored conversation's)."""

    user_id: str
    message: str
    conversation_id: str | None = None
    language: str | None = None
    history: list[dict] | None = None


@dataclass(frozen=True)
class Answer:
    """A chat turn answered and stored."""

    reply: str
    conversation_id: str
    message_id: str
    source: Source
    cache_intent: str | None
    insight_ids: list[str]
    timings: dict[str, float]  # seconds per stage of the turn, and its total
    input_tokens: int = 0  # model tokens the reply cost; zero when the cache or the fallback answered
    output_tokens: int = 0


class DomainError(Exception):
    """A request the services refuse; `field` names what was wrong with it."""

    field: str | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class EmptyMessage(DomainError):
    field = "message"

    def __init__(self) -> None:
        super().__init__(
            "message is empty or only whitespace or invisible characters; send the text you want answered."
        )


class MessageTooLong(DomainError):
    field = "message"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"message is {length} characters; the limit is {limit}. Split it into shorter messages.")
        self.length, self.limit = length, limit


class UserNotFound(DomainError):
    field = "user_id"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"user {echoed(user_id)} is unknown.")


class ConversationNotFound(DomainError):
    field = "conversation_id"

    def __init__(self, conversation_id: str, *, to_continue: bool = False) -> None:
        # Continuing a conversation that is not there: leaving the id out starts one.
        hint = "; omit conversation_id to start one" if to_continue else ""
        super().__init__(f"conversation {echoed(conversation_id)} does not exist{hint}.")


class ConversationOfAnotherUser(DomainError):
    field = "conversation_id"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {echoed(conversation_id)} belongs to another user.")


class MessageNotFound(DomainError):
    field = "message_id"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {echoed(message_id)} does not exist.")
