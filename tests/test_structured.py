"""Schema-validated generation: retries, drops and counts, on a scripted fake backend."""

import json

import pytest

from jiwa.domain.insights import CulturalInsight, InsightVerdict
from jiwa.llm import StructuredLLM
from jiwa.prompts import PromptError, load_prompt
from tests.support.fakes import FakeChatBackend

PROMPT = load_prompt("cultural_insight")
VARIABLES = dict(
    category="phrases_emotions", topic="maaf", description="sorry, humility", facet="daily life", examples="none yet"
)
VALID = json.dumps(
    {
        "insight": "Maaf softens almost every request and shows humility.",
        "guidance": "Accept the apology warmly and move on without dwelling on it.",
        "triggers": {"id": ["maaf ya"], "en": ["sorry to bother"], "it": ["scusa il disturbo"]},
        "tone_tags": ["warm"],
    }
)


def test_invalid_output_is_retried_then_accepted():
    backend = FakeChatBackend(script=["{not json", VALID])
    llm = StructuredLLM(backend, max_retries=2)
    result = llm.generate(PROMPT, CulturalInsight, **VARIABLES)
    assert result.insight.startswith("Maaf")
    assert llm.stats.accepted == 1 and llm.stats.dropped == 0
    assert dict(llm.stats.rejections) == {"invalid_json": 1}
    assert llm.stats.calls == 2


def test_output_failing_schema_every_time_is_dropped_and_counted():
    half_valid = json.dumps({**json.loads(VALID), "tone_tags": ["sarcastic"]})
    backend = FakeChatBackend(script=[half_valid] * 3)
    llm = StructuredLLM(backend, max_retries=2)
    assert llm.generate(PROMPT, CulturalInsight, **VARIABLES) is None
    assert llm.stats.dropped == 1 and llm.stats.accepted == 0
    assert dict(llm.stats.rejections) == {"schema": 3}


def test_retries_use_fresh_seeds_and_the_schema_is_sent():
    seen = []

    class Recorder(FakeChatBackend):
        def complete(self, messages, *, json_schema, max_tokens, temperature, seed):
            seen.append((seed, json_schema["title"], max_tokens))
            return super().complete(
                messages, json_schema=json_schema, max_tokens=max_tokens, temperature=temperature, seed=seed
            )

    llm = StructuredLLM(Recorder(script=["nope"]), seed=7, max_retries=1)
    assert llm.generate(PROMPT, CulturalInsight, variant=1, **VARIABLES) is not None
    assert [s for s, _, _ in seen] == [7 + 101, 7 + 101 + 1]
    assert {title for _, title, _ in seen} == {"CulturalInsight"}
    assert {tokens for _, _, tokens in seen} == {PROMPT.max_tokens}


def test_degenerate_text_is_rejected_by_validators():
    slug = json.dumps({**json.loads(VALID), "insight": "guidance-to-the-lady-is-shame"})
    stutter = json.dumps(
        {**json.loads(VALID), "triggers": {"id": ["freeti128888888"], "en": ["hm ok"], "it": ["va bene"]}}
    )
    llm = StructuredLLM(FakeChatBackend(script=[slug, stutter]), max_retries=1)
    assert llm.generate(PROMPT, CulturalInsight, **VARIABLES) is None
    assert dict(llm.stats.rejections) == {"schema": 2}


def test_asking_for_another_model_than_the_prompt_writes_is_refused_before_any_call():
    backend = FakeChatBackend(script=[VALID])
    with pytest.raises(PromptError, match="writes CulturalInsight, not the InsightVerdict asked for"):
        StructuredLLM(backend).generate(PROMPT, InsightVerdict, **VARIABLES)
    assert backend.calls == []


def test_output_schemas_stay_within_what_llama_cpp_grammars_handle():
    from jiwa.domain.outputs import OUTPUT_MODELS
    from jiwa.domain.text import MAX_GRAMMAR_STRING

    def lengths(node):
        if isinstance(node, dict):
            if "maxLength" in node:
                yield node["maxLength"]
            for value in node.values():
                yield from lengths(value)
        elif isinstance(node, list):
            for value in node:
                yield from lengths(value)

    for name, model in OUTPUT_MODELS.items():
        assert max(lengths(model.model_json_schema()), default=0) <= MAX_GRAMMAR_STRING, name
