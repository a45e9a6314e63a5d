"""A fake LLAMA for logic tests: it answers the insight prompt with schema-valid JSON derived from the prompt itself."""

import json
import re

from pydantic import Field

from jiwa.llm import Completion, StructuredLLM
from pipelines.resources import LlamaResource


class FakeChatBackend:
    """Writes an insight about whatever topic and facet the prompt names; `script` can force raw outputs first."""

    model_id = "fake-llama"

    def __init__(self, script: list[str] | None = None) -> None:
        self.script = list(script or [])
        self.calls: list[list[dict]] = []

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        self.calls.append(messages)
        if self.script:
            text = self.script.pop(0)
        else:
            user = messages[-1]["content"]
            topic = re.search(r"Topic: (.+?) \(category", user).group(1)
            facet = re.search(r"Facet: (.+)", user).group(1)
            text = json.dumps(
                {
                    "insight": f"When someone mentions {topic}, the facet '{facet}' matters for how they feel.",
                    "guidance": f"Answer about {topic} gently, acknowledge the feeling, then give one clear step.",
                    "triggers": {"id": [f"soal {topic}"], "en": [f"what about {topic}?"], "it": [f"e per {topic}?"]},
                    "tone_tags": ["warm", "patient"],
                }
            )
        return Completion(text=text, prompt_tokens=sum(len(m["content"]) // 4 for m in messages), completion_tokens=len(text) // 4)


class FakeLlamaResource(LlamaResource):
    """LlamaResource whose backend is the fake; everything else (validation, retries, counting) is the real code."""

    script: list[str] = Field(default_factory=list, description="Raw outputs to return before the generated ones.")

    def setup_for_execution(self, context) -> None:
        backend = FakeChatBackend(self.script)
        self._llm = StructuredLLM(backend, temperature=self.temperature, seed=self.seed, max_retries=self.max_retries)
