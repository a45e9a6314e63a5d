"""What grounds one reply: the retrieved insights, the user's memory and the reply language, as the responder's data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from jiwa.domain.language import DEFAULT_LANGUAGE
from jiwa.prompts import Prompt, as_data
from jiwa.store.insights import InsightHit


@dataclass
class Grounding:
    insights: list[InsightHit] = field(default_factory=list)
    profile: dict | None = None
    language: str | None = None
    facts: list[dict] = field(default_factory=list)  # curated facts the message names (ResponseCache.facts_for)


def data_block(prompt: Prompt, grounding: Grounding) -> str:
    """The responder prompt's data section: everything in it is data for the model, never instructions."""
    insights = [
        {
            "id": hit.id,
            "topic": hit.topic,
            "insight": hit.insight,
            "guidance": hit.guidance,
            "tone": list(hit.tone_tags),
        }
        for hit in grounding.insights
    ]
    language = grounding.language or DEFAULT_LANGUAGE
    facts = [
        {
            "id": fact["id"],
            "value": fact["value"].get(language) or fact["value"][DEFAULT_LANGUAGE],
            "last_checked": fact["as_of"],
            "source": fact["source"],
        }
        | ({"review_overdue": True} if fact.get("review_overdue") else {})
        for fact in grounding.facts
    ]
    # The memory's block form: each remembered value with how sure Jiwa is now and how old it is.
    memory = getattr(grounding.profile, "block", grounding.profile)
    profile = json.dumps(memory, ensure_ascii=False, indent=1) if memory else "none yet: a new user"
    rendered = prompt.render(
        insights=as_data(json.dumps(insights, ensure_ascii=False, indent=1)) if insights else "none",
        facts=as_data(json.dumps(facts, ensure_ascii=False, indent=1)) if facts else "none",
        profile=as_data(profile),
        language=as_data(grounding.language or ""),
    )
    return rendered[-1]["content"]
