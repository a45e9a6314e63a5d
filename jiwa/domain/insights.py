"""What an insight about Bali's culture says: the team's, LLAMA's offline ones, and the nightly findings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from jiwa.domain.status import FindingKind
from jiwa.domain.text import Sentence, Strict, Utterance

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


class TriggerPhrases(Strict):
    """Things a user might write that show the signal, per language."""

    id: list[Utterance] = Field(min_length=1, max_length=3, description="Indonesian")
    en: list[Utterance] = Field(min_length=1, max_length=3, description="English")
    it: list[Utterance] = Field(min_length=1, max_length=3, description="Italian")


class CulturalInsight(Strict):
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


class NightlyFinding(CulturalInsight):
    """What one day's conversation teaches: an insight with guidance, shaped like the knowledge base's rows."""

    kind: FindingKind


class InsightVerdict(Strict):
    """LLAMA's second reading of a generated insight against what the team wrote: does it agree?"""

    agrees: Literal["yes", "no"]
