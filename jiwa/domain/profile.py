"""The JIWA memory profile of one user: built by the pipeline, read by the server. Every field is bounded."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_SOURCES = 5
MAX_LIST_ITEMS = 6
MAX_HISTORY = 20
MAX_CORRECTIONS = 40

Value = Annotated[str, StringConstraints(max_length=120)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Remembered(_Frozen):
    """One remembered value, with when it was last confirmed, how sure we are and which conversations said so."""

    value: Value
    updated_at: datetime
    first_seen: datetime
    confidence: float = Field(ge=0.0, le=1.0)
    sources: tuple[str, ...] = Field(max_length=MAX_SOURCES)
    # The user turns of each source conversation that the analysis cited; profiles stored before carry none.
    turns: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    # Set when the user corrected it: then it outranks what later conversations infer (jiwa.enrichment.corrections).
    corrected_at: datetime | None = None


class HistoryPoint(_Frozen):
    value: Value
    at: datetime
    conversation_id: str


class ProfileFacts(_Frozen):
    name: Remembered | None = None
    language: Remembered | None = None
    nationality: Remembered | None = None
    interests: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    plans: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)


class JiwaContext(_Frozen):
    personality: Remembered | None = None
    emotional_state: Remembered | None = None
    trust_level: Remembered | None = None
    communication_preference: Remembered | None = None
    life_phase: Remembered | None = None
    life_situation: Remembered | None = None
    relationship_with_us: Remembered | None = None
    dreams: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    anxieties: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    cultural_bridge_needed: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)
    needs: tuple[Remembered, ...] = Field(default=(), max_length=MAX_LIST_ITEMS)


class Correction(_Frozen):
    """One correction the user made to their memory: a value set, or a value (None: the whole field) removed."""

    event_id: str
    at: datetime
    field: str
    action: Literal["set", "remove"]
    value: Value | None = None


class LastConversation(_Frozen):
    conversation_id: str
    ended_at: datetime
    summary: Annotated[str, StringConstraints(max_length=280)]


class Profile(_Frozen):
    user_id: str
    tenant: str
    conversations: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_conversation: LastConversation | None = None
    facts: ProfileFacts = ProfileFacts()
    jiwa_context: JiwaContext = JiwaContext()
    emotional_history: tuple[HistoryPoint, ...] = Field(default=(), max_length=MAX_HISTORY)
    trust_history: tuple[HistoryPoint, ...] = Field(default=(), max_length=MAX_HISTORY)
    cultural_markers: dict[str, int] = Field(default_factory=dict)
    languages: dict[str, int] = Field(default_factory=dict)
    # The user's corrections still in force, and the newest one folded in, so the server adds only those after it.
    corrections: tuple[Correction, ...] = Field(default=(), max_length=MAX_CORRECTIONS)
    corrections_through: datetime | None = None


def field_kinds() -> dict[str, tuple[str, bool]]:
    """Each remembered field the user may correct: its section of the profile, and whether it holds a list."""
    kinds = {}
    for section, model in (("facts", ProfileFacts), ("jiwa_context", JiwaContext)):
        for name, info in model.model_fields.items():
            kinds[name] = (section, str(info.annotation).startswith("tuple"))
    return kinds


def normalized(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
