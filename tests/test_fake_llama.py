"""The fake LLAMA picks its answer by the output schema a prompt constrains to, not by the prompt's wording."""

import json

from jiwa.domain.outputs import OUTPUT_MODELS
from jiwa.prompts import load_prompt
from tests.support.fakes import FakeChatBackend


def test_the_fake_answers_by_output_schema_whatever_the_wording():
    prompt = load_prompt("insight_verification")
    reworded = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Entirely new wording."}]
    completion = FakeChatBackend().complete(
        reworded, json_schema=prompt.output_model.model_json_schema(), max_tokens=8, temperature=0, seed=0
    )
    assert OUTPUT_MODELS["InsightVerdict"].model_validate(json.loads(completion.text)).agrees == "yes"
