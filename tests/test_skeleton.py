"""The walk that writes a JSON output around its schema's fixed text (jiwa.llm.skeleton)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from jiwa.domain.insights import CulturalInsight
from jiwa.llm.skeleton import Choice, walk, walkable, write
from jiwa.prompts import PROMPTS_DIR, load_prompt

OUTPUT_PROMPTS = sorted(
    path.stem for path in PROMPTS_DIR.glob("*.yaml") if load_prompt(path.stem).output_model is not None
)


def _schema(name: str) -> dict:
    model = load_prompt(name).output_model
    assert model is not None
    return model.model_json_schema()


def _written(choice: Choice, go_on: bool, number: int) -> tuple[str, bool]:
    """What a model writes for `choice` (its stop text left out, as llama.cpp leaves it out): the least, or, while it
    goes on, more (another item, an optional key, a list that could be empty). Also whether it went on."""
    grammar = choice.grammar
    if "char{" in grammar:
        minimum = int(grammar.split("char{", 1)[1].split(",", 1)[0])
        text = f"Caffè {'ab'[number % 2]}{'xyz'[number % 3]}{chr(97 + number % 26)} at the banjar hall"
        while len(text) < minimum:
            text += " near the temple"
        return text, False
    if "[0-9]" in grammar:  # an integer with the "," or "]" after it
        ends = re.findall(r'"([,\]])"', grammar.rsplit("(", 1)[1])
        end = "," if (go_on and "," in ends) or "]" not in ends else "]"
        return str(number) + end, end == ","
    if choice.max_tokens == 1:  # go on (",", '"', "{") or close ("]", "}")
        options = [option.replace('\\"', '"') for option in re.findall(r'"(\\"|[^"])"', grammar)]
        (close,) = [option for option in options if option in "]}"]
        (more,) = [option for option in options if option != close]
        return (more, True) if go_on else (close, False)
    return grammar.removeprefix('root ::= "').split('\\"', 1)[0], False  # its first option


def _fill(schema: dict, *, go_on_times: int = 0) -> tuple[str, list[Choice]]:
    choices: list[Choice] = []

    def choose(text: str, choice: Choice) -> tuple[str, bool]:
        nonlocal go_on_times
        choices.append(choice)
        written, went_on = _written(choice, go_on=go_on_times > 0, number=len(choices))
        go_on_times -= went_on
        return written, True

    return write(schema, choose), choices


WALKED = [name for name in OUTPUT_PROMPTS if walkable(_schema(name))]


def test_every_output_model_is_walked_and_parts_a_model_cannot_end_by_itself_are_not():
    assert WALKED == OUTPUT_PROMPTS
    # An integer ends where the model writes the "," or "]" after it, so it is walked only as a list's item; a number
    # with bounds, or a pattern, is the grammar's to keep.
    for part in ({"type": "integer"}, {"type": "string", "pattern": "^a$"}, {"type": "array", "items": {}}):
        assert not walkable({"type": "object", "properties": {"x": part}, "required": ["x"]})
    # An empty list is told from a first integer by no first character.
    assert not walkable({"type": "array", "items": {"type": "integer"}})
    assert walkable({"type": "array", "items": {"type": "integer"}, "minItems": 1})
    with pytest.raises(ValueError, match="under one grammar"):
        next(walk({"type": "number"}))


def test_optional_keys_come_after_the_required_ones_and_only_when_the_model_goes_on():
    schema = _schema("conversation_analysis")
    least, _ = _fill(schema)
    assert set(json.loads(least)) == set(schema["required"])  # every optional key left out
    assert '"facts": {}' in least  # an object whose keys are all optional may be empty
    most, _ = _fill(schema, go_on_times=10_000)
    written = json.loads(most)
    assert list(written) == schema["required"] + [key for key in schema["properties"] if key not in schema["required"]]
    assert all(len(claim["evidence"]) == 4 for claim in written["dreams"])  # integers go on up to the list's maximum
    assert len(written["dreams"]) == 3


@pytest.mark.parametrize("name", WALKED)
def test_every_walked_output_model_is_written_as_valid_json_in_its_schema_order(name):
    model = load_prompt(name).output_model
    assert model is not None
    text, choices = _fill(model.model_json_schema())
    parsed = json.loads(text)
    schema = model.model_json_schema()
    assert list(parsed) == [key for key in schema["properties"] if key in schema.get("required", ())]
    model.model_validate(parsed)
    assert choices, "the model chooses something in every output"


def test_fixed_text_is_given_and_only_choices_are_asked_for():
    text, choices = _fill(CulturalInsight.model_json_schema())
    assert text.startswith('{"insight": "') and '", "guidance": "' in text
    assert '"triggers": {"id": ["' in text and '"]}, "tone_tags": ["' in text
    # Strings end at their first quote, which the walk writes itself; enums are one of their values.
    assert all(choice.stop == '"' for choice in choices if choice.grammar and "char{" in choice.grammar)
    tags = next(choice for choice in choices if choice.grammar and '"warm\\""' in choice.grammar)
    assert tags.grammar is not None and '"clear\\""' in tags.grammar and tags.stop == '"'


def test_a_list_goes_on_while_the_model_says_so_and_closes_at_its_maximum():
    schema = {
        "type": "object",
        "properties": {"words": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3}},
        "required": ["words"],
        "additionalProperties": False,
    }
    two, _ = _fill(schema)
    assert len(json.loads(two)["words"]) == 2  # the minimum is written without asking
    three, choices = _fill(schema, go_on_times=5)
    assert len(json.loads(three)["words"]) == 3  # at the maximum the list closes however the model would go on
    assert sum(choice.max_tokens == 1 for choice in choices) == 1


@pytest.mark.model
def test_llama_cpp_accepts_every_grammar_the_walks_ask_for():
    grammars = set()
    for name in WALKED:
        for go_on in (0, 3):
            grammars |= {choice.grammar for choice in _fill(_schema(name), go_on_times=go_on)[1]}
    # In a process of its own: native code that fails must not take the test session with it.
    checked = subprocess.run(
        [sys.executable, "-c", _GRAMMAR_CHECK],
        input=json.dumps(sorted(grammars)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert json.loads(checked.stdout) == {"refused": [], "checked": len(grammars)}


_GRAMMAR_CHECK = """
import json, sys
from llama_cpp import Llama, LlamaGrammar, llama_cpp
from jiwa.llm.model_files import resolve_model_path
llama = Llama(model_path=str(resolve_model_path("")), vocab_only=True, verbose=False)
refused = []
grammars = json.load(sys.stdin)
for text in grammars:
    grammar = LlamaGrammar.from_string(text, verbose=False)
    sampler = llama_cpp.llama_sampler_init_grammar(
        llama._model.vocab, grammar._grammar.encode(), grammar._root.encode())
    if not sampler:
        refused.append(text)
    else:
        llama_cpp.llama_sampler_free(sampler)
print(json.dumps({"refused": refused, "checked": len(grammars)}))
"""


@pytest.mark.model
def test_each_choice_samples_with_the_output_written_before_it_in_the_penalty_s_memory():
    checked = subprocess.run([sys.executable, "-c", _PENALTY_MEMORY_CHECK], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr[-2000:]
    remembered, written_before = json.loads(checked.stdout)
    assert len(remembered) == 2 and 0 < remembered[0] < remembered[1]  # '{"a": "', then that and a's text and more
    assert remembered == written_before  # every token of the output so far, the fixed text included


_PENALTY_MEMORY_CHECK = """
import json
from jiwa.llm.model_files import resolve_model_path
from jiwa.llm.sampling import GrammarFirstLlama
remembered, written_before = [], []
class Recording(GrammarFirstLlama):
    def _init_sampler(self, *args, **kwargs):
        remembered.append(len(self._history))
        return super()._init_sampler(*args, **kwargs)
    def create_completion(self, prompt, **kwargs):
        written_before.append(len(prompt) - len(start))
        return super().create_completion(prompt, **kwargs)
llama = Recording(model_path=str(resolve_model_path("")), n_ctx=512, verbose=False)
start = llama.tokenize(b"Two words about Bali, as JSON:", add_bos=False)
schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 20},
          "b": {"type": "string", "maxLength": 20}}, "required": ["a", "b"], "additionalProperties": False}
llama.fill_schema(start, schema, max_tokens=40, seed=1, prompt_evaluated=lambda: 0, temperature=0.7)
print(json.dumps([remembered, written_before]))
"""
