"""What grounds one reply: the retrieved insights, the user's memory and the reply language, as the responder's data."""

import json
from dataclasses import dataclass, field

from jiwa.prompts import Prompt, as_data
from jiwa.store.insights import InsightHit


@dataclass
class Grounding:
    insights: list[InsightHit] = field(default_factory=list)
    profile: dict | None = None
    language: str | None = None


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
    # The memory's block form: each remembered value with how sure Jiwa is now and how old it is.
    memory = getattr(grounding.profile, "block", grounding.profile)
    profile = json.dumps(memory, ensure_ascii=False, indent=1) if memory else "none yet: a new user"
    rendered = prompt.render(
        insights=as_data(json.dumps(insights, ensure_ascii=False, indent=1)) if insights else "none",
        profile=as_data(profile),
        language=as_data(grounding.language or ""),
    )
    return rendered[-1]["content"]
