"""Request and response bodies, as msgspec Structs; Litestar validates requests against them."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

import msgspec

from serving.domain import Source

Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$", description="ISO 639-1, e.g. it, en, id")]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
# Text may hold anything a person types, except NUL: no database stores it in text, and no one means it.
NO_NUL = r"^[^\x00]*$"


class ChatRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Identifier
    message: Annotated[str, msgspec.Meta(min_length=1, pattern=NO_NUL)]
    conversation_id: Identifier | None = None
    language: Language | None = None
    stream: bool = False


class TokenUsage(msgspec.Struct):
    """Model tokens this reply cost; zero when the cache or the fallback answered."""

    input_tokens: int = 0
    output_tokens: int = 0


class ChatResponse(msgspec.Struct):
    reply: str
    conversation_id: str
    message_id: str
    source: Source
    cache_intent: str | None
    insight_ids: list[str]
    timings_ms: dict[str, float]
    usage: TokenUsage = msgspec.field(default_factory=TokenUsage)


class Turn(msgspec.Struct):
    message_id: str
    role: str
    content: str
    created_at: str
    source: str | None = None
    insight_ids: list[str] = []


class ConversationView(msgspec.Struct):
    conversation_id: str
    user_id: str
    ended: bool
    turns: list[Turn]


class Feedback(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Identifier  # who rates: only the user who received the reply may
    rating: Literal["up", "down"]
    comment: Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)] | None = None


class FeedbackAck(msgspec.Struct):
    message_id: str
    rating: str


class RememberedValue(msgspec.Struct):
    """One remembered value and its evidence: where it came from, how sure Jiwa is, and whether it grounds replies."""

    field: str
    value: str
    confidence: float  # as last confirmed
    current_confidence: float  # after fading, for transient states; else the same
    age_days: float  # since last confirmed (or corrected)
    seen: str
    transient: bool
    in_grounding: bool  # in the block the responder gets now (not faded out, not cut by the length budget)
    corrected_by_user: bool
    sources: list[str]  # conversation ids
    turns: dict[str, list[int]]  # conversation id -> the turns the analysis cited (numbered from 1, as written)


class MemoryView(msgspec.Struct):
    user_id: str
    known: bool
    profile: dict | None
    grounding_text: str
    fields: list[RememberedValue] = []


class MemoryCorrection(msgspec.Struct, forbid_unknown_fields=True):
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=NO_NUL)]


class Forgotten(msgspec.Struct):
    user_id: str
    events_removed: int
    derived_rows_removed: int
    note: str = (
        "Removed now from the conversation log and from the current analyses and profiles. Older versions of the "
        "analysis and profile stores, which still hold them, are deleted by the next store compaction (hourly)."
    )


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    ready: bool
    stores: dict[str, dict]
    responder: str


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    param: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


# OpenAI-compatible chat completions.
class ContentPart(msgspec.Struct):
    """One part of a message's content; only text parts are read, other kinds (images, audio) are skipped."""

    type: str
    text: Annotated[str, msgspec.Meta(pattern=NO_NUL)] | None = None


class OpenAIMessage(msgspec.Struct):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Annotated[str, msgspec.Meta(pattern=NO_NUL)] | list[ContentPart] | None = None


class CompletionRequest(msgspec.Struct):
    messages: Annotated[list[OpenAIMessage], msgspec.Meta(min_length=1)]
    model: str = "jiwa"
    stream: bool = False
    user: Identifier | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    metadata: dict[str, Annotated[str, msgspec.Meta(pattern=NO_NUL)]] | None = None


class CompletionChoiceMessage(msgspec.Struct):
    role: str
    content: str


class CompletionChoice(msgspec.Struct):
    index: int
    message: CompletionChoiceMessage
    finish_reason: str


class CompletionUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionResponse(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
    object: str = "chat.completion"
    system_fingerprint: str | None = None


def is_blank(text: str) -> bool:
    """Nothing a reader would see: whitespace and invisible format characters (zero-width spaces and joiners, BOM)."""
    return all(character.isspace() or unicodedata.category(character) == "Cf" for character in text)
