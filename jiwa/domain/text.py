"""The text a model may write into a field: sentences and short utterances, rejected when a small model loops."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

_STUTTER = re.compile(r"(.)\1{4}")


def no_stutter(text: str) -> str:
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
    AfterValidator(no_stutter),
    AfterValidator(_several_words),
]
Utterance = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80), AfterValidator(no_stutter)
]

Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120), AfterValidator(no_stutter)
]

# llama.cpp turns maxLength into a bounded repetition in its grammar; at about 1500 it crashes while sampling.
MAX_GRAMMAR_STRING = 600


class Strict(BaseModel):
    """A model's output: a key it does not declare is an error."""

    model_config = ConfigDict(extra="forbid")
