"""What LLAMA reads in one finished conversation, and the stored analyses the profile is folded from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from jiwa.domain.text import Note, Sentence, Strict

# Turn numbers (T1, T2, ...) that support a claim. llama.cpp's grammar ignores integer bounds, so the pipeline,
# not the schema, keeps only numbers that name a user turn.
Evidence = Annotated[list[int], Field(min_length=1, max_length=4)]

Emotion = Literal[
    "calm",
    "curious",
    "hopeful",
    "excited",
    "grateful",
    "confused",
    "anxious",
    "frustrated",
    "overwhelmed",
    "sad",
]
Trajectory = Literal["improving", "steady", "worsening", "mixed"]
Personality = Literal["reserved", "outgoing", "analytical", "careful_planner", "adventurous", "pragmatic"]
CommunicationStyle = Literal["brief", "detailed", "formal", "casual", "emotional", "practical"]
RelationshipPhase = Literal["first_contact", "getting_to_know", "trusting", "loyal"]
TrustLevel = Literal["low", "medium", "high"]
LifePhase = Literal["dreaming", "planning", "relocating", "settling", "settled"]


class NoteClaim(Strict):
    value: Note
    evidence: Evidence


class EmotionClaim(Strict):
    value: Emotion
    evidence: Evidence


class PersonalityClaim(Strict):
    value: Personality
    evidence: Evidence


class StyleClaim(Strict):
    value: CommunicationStyle
    evidence: Evidence


class RelationshipClaim(Strict):
    value: RelationshipPhase
    evidence: Evidence


class TrustClaim(Strict):
    value: TrustLevel
    evidence: Evidence


class LifePhaseClaim(Strict):
    value: LifePhase
    evidence: Evidence


class StatedFacts(Strict):
    """Only what the person said about themselves; the language is counted by rule, not asked of the model."""

    name: NoteClaim | None = None
    nationality: NoteClaim | None = None
    interests: list[NoteClaim] = Field(default_factory=list, max_length=4)
    plans: list[NoteClaim] = Field(default_factory=list, max_length=3)


class ConversationAnalysis(Strict):
    """What LLAMA reads in one finished conversation. Closed vocabularies wherever a later stage acts on the value."""

    summary: Sentence = Field(description="What the conversation was about, in one sentence.")
    emotional_state: EmotionClaim
    emotional_trajectory: Trajectory
    personality: PersonalityClaim
    communication_style: StyleClaim
    relationship_phase: RelationshipClaim
    trust_level: TrustClaim
    life_phase: LifePhaseClaim
    life_situation: NoteClaim | None = None
    cultural_signals: list[NoteClaim] = Field(default_factory=list, max_length=3)
    dreams: list[NoteClaim] = Field(default_factory=list, max_length=3)
    anxieties: list[NoteClaim] = Field(default_factory=list, max_length=3)
    facts: StatedFacts
    needs_beyond_question: list[NoteClaim] = Field(default_factory=list, max_length=3)


@dataclass(frozen=True)
class StoredAnalysis:
    """What the analyses table holds about one conversation, as far as the retry rule (jiwa.enrichment.pending) needs it."""

    fingerprint: str
    status: str
    attempts: int
    ended_at: datetime


@dataclass(frozen=True)
class AnalysedConversation:
    """One analysis row of the conversation_analyses table, as the merge needs it."""

    conversation_id: str
    tenant: str
    user_id: str
    fingerprint: str
    ended_at: datetime
    analysed_at: datetime
    analysis: dict
    markers: dict[str, int]
    languages: dict[str, int]
    primary_language: str | None

    @property
    def order_key(self) -> tuple:
        # The content digest last, so even two different analyses of the same content pick one winner whatever the order.
        return (self.ended_at, self.conversation_id, self.fingerprint, self.analysed_at, self.digest)

    @property
    def digest(self) -> str:
        payload = json.dumps([self.analysis, self.markers, self.languages, self.primary_language], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()
