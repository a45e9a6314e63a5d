"""The JIWA memory profile of one user: built by the pipeline, read by the server. Every field is bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_SOURCES = 5
MAX_LIST_ITEMS = 6
MAX_HISTORY = 20

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
