"""Output models for LLAMA prompts: each one gives the JSON schema that constrains generation and validates the result."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

_STUTTER = re.compile(r"(.)\1{4}")


def _no_stutter(text: str) -> str:
    if _STUTTER.search(text):
        raise ValueError("repeats one character five or more times")
    return text


def _several_words(text: str) -> str:
    words = text.lower().split()
    if len(words) < 4:
        raise ValueError("needs at least four words")
    if len(words) >= 8 and len(set(words)) < len(words) / 2:
        raise ValueError("repeats the same words in a loop")
    return text


# Small models loop or emit slugs; these validators reject that without loosening the grammar.
Sentence = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=12, max_length=280),
    AfterValidator(_no_stutter),
    AfterValidator(_several_words),
]
Utterance = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80), AfterValidator(_no_stutter)
]

# A closed vocabulary, so later stages (tone-adjusted cached answers) can act on the tags.
ToneTag = Literal[
    "warm",
    "reassuring",
    "patient",
    "respectful",
    "encouraging",
    "gentle",
    "practical",
    "playful",
    "calm",
    "humble",
    "formal",
    "informal",
    "empathetic",
    "clear",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerPhrases(_Strict):
    """Things a user might write that show the signal, per language."""

    id: list[Utterance] = Field(min_length=1, max_length=3, description="Indonesian")
    en: list[Utterance] = Field(min_length=1, max_length=3, description="English")
    it: list[Utterance] = Field(min_length=1, max_length=3, description="Italian")


class CulturalInsight(_Strict):
    insight: Sentence
    guidance: Sentence = Field(description="How the responder should answer someone showing this signal.")
    triggers: TriggerPhrases
    tone_tags: list[ToneTag] = Field(min_length=1, max_length=4)

    @field_validator("guidance")
    @classmethod
    def _guidance_differs(cls, guidance: str, info) -> str:
        if guidance.lower() == (info.data.get("insight") or "").lower():
            raise ValueError("guidance repeats the insight word for word")
        return guidance


# llama.cpp turns maxLength into a bounded repetition in its grammar; at about 1500 it crashes while sampling.
MAX_GRAMMAR_STRING = 600


class ChatReply(_Strict):
    """What LLAMA returns when it stands in for Claude."""

    reply: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GRAMMAR_STRING),
        AfterValidator(_no_stutter),
    ]


Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120), AfterValidator(_no_stutter)
]
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


class NoteClaim(_Strict):
    value: Note
    evidence: Evidence


class EmotionClaim(_Strict):
    value: Emotion
    evidence: Evidence


class PersonalityClaim(_Strict):
    value: Personality
    evidence: Evidence


class StyleClaim(_Strict):
    value: CommunicationStyle
    evidence: Evidence


class RelationshipClaim(_Strict):
    value: RelationshipPhase
    evidence: Evidence


class TrustClaim(_Strict):
    value: TrustLevel
    evidence: Evidence


class LifePhaseClaim(_Strict):
    value: LifePhase
    evidence: Evidence


class StatedFacts(_Strict):
    """Only what the person said about themselves; the language is counted by rule, not asked of the model."""

    name: NoteClaim | None = None
    nationality: NoteClaim | None = None
    interests: list[NoteClaim] = Field(default_factory=list, max_length=4)
    plans: list[NoteClaim] = Field(default_factory=list, max_length=3)


class ConversationAnalysis(_Strict):
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


FindingKind = Literal["cultural_pattern", "unmet_need", "phrasing_worked", "phrasing_failed"]


class NightlyFinding(CulturalInsight):
    """What one day's conversation teaches: an insight with guidance, shaped like the knowledge base's rows."""

    kind: FindingKind


class IntentParaphrases(_Strict):
    """New ways to ask a common question; the pipeline keeps those its term rules still recognise."""

    phrasings: list[Utterance] = Field(min_length=2, max_length=6)


# {fact_id}: where a cached answer's facts go; filled from the team's facts file, never written by a model.
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def without_placeholders(text: str) -> str:
    return PLACEHOLDER.sub(" ", text)


def states_a_number(text: str) -> bool:
    """A digit outside the placeholders is a number the facts file did not supply."""
    return any(character.isdigit() for character in without_placeholders(text))


def _no_stated_numbers(text: str) -> str:
    if states_a_number(text):
        raise ValueError("states a number itself; numbers come only through {fact} placeholders")
    return text


class CachedAnswer(_Strict):
    """One pre-written answer to a common question, with facts left as {fact_id} placeholders."""

    answer: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=20, max_length=500),
        AfterValidator(_no_stutter),
        AfterValidator(_no_stated_numbers),
    ]


class InsightVerdict(_Strict):
    """LLAMA's second reading of a generated insight against what the team wrote: does it agree?"""

    agrees: Literal["yes", "no"]


OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "InsightVerdict": InsightVerdict,
    "IntentParaphrases": IntentParaphrases,
    "NightlyFinding": NightlyFinding,
    "CachedAnswer": CachedAnswer,
    "CulturalInsight": CulturalInsight,
    "ChatReply": ChatReply,
    "ConversationAnalysis": ConversationAnalysis,
}
