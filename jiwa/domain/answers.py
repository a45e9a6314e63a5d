"""Answers written for users: a reply in Claude's place, a pre-written cached answer, new phrasings of a question."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from jiwa.domain.text import MAX_GRAMMAR_STRING, Strict, Utterance, no_stutter


class ChatReply(Strict):
    """What LLAMA returns when it stands in for Claude."""

    reply: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GRAMMAR_STRING),
        AfterValidator(no_stutter),
    ]


class IntentParaphrases(Strict):
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


class CachedAnswer(Strict):
    """One pre-written answer to a common question, with facts left as {fact_id} placeholders."""

    answer: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=20, max_length=500),
        AfterValidator(no_stutter),
        AfterValidator(_no_stated_numbers),
    ]
