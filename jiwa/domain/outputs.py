"""The output models a prompt file may name (its `output:` key): each gives the JSON schema that constrains
generation and validates the result."""

from __future__ import annotations

from pydantic import BaseModel

from jiwa.domain.analysis import ConversationAnalysis
from jiwa.domain.answers import CachedAnswer, ChatReply, IntentParaphrases
from jiwa.domain.insights import CulturalInsight, InsightVerdict, NightlyFinding

OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "InsightVerdict": InsightVerdict,
    "IntentParaphrases": IntentParaphrases,
    "NightlyFinding": NightlyFinding,
    "CachedAnswer": CachedAnswer,
    "CulturalInsight": CulturalInsight,
    "ChatReply": ChatReply,
    "ConversationAnalysis": ConversationAnalysis,
}
