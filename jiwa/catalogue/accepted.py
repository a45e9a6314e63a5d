"""Intents an analyst accepted from the nightly proposals, added to the team's catalogue files (the seed) whenever
the catalogue is built, and the rules an accepted intent must pass before it is kept."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jiwa.catalogue.intents import INTENTS_PATH, CuratedFacts, Fact, Intent, IntentCatalogue, fact_problems
from jiwa.catalogue.matching import IntentMatcher
from jiwa.catalogue.typos import normalize
from jiwa.domain.language import LANGUAGES

PROPOSAL_ID = re.compile(r"\d{4}-\d{2}-\d{2}-\d+")


class AcceptedIntent(BaseModel):
    """What an analyst accepted from one proposal, in their own words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proposal: str = Field(pattern=PROPOSAL_ID.pattern)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    intent: Intent
    # By group: a group the seed defines gains these terms, any other group is added with them.
    new_terms: dict[str, tuple[str, ...]] = {}
    # New facts, or new values of the seed's: the latest accepted value of a fact holds.
    facts: dict[str, Fact] = {}

    @model_validator(mode="after")
    def _every_language(self) -> AcceptedIntent:
        for field in ("phrasings", "reference", "near_misses"):
            stray = sorted(set(getattr(self.intent, field)) - set(LANGUAGES))
            if stray:
                raise ValueError(f"{field} in {', '.join(stray)}: Jiwa speaks {', '.join(LANGUAGES)}")
        empty = [lang for lang in LANGUAGES if not self.intent.phrasings.get(lang)]
        if empty:
            raise ValueError(f"phrasings: at least one seed phrasing is needed in {', '.join(empty)}")
        blank = [lang for lang, text in sorted(self.intent.reference.items()) if not text.strip()]
        if blank:
            raise ValueError(f"reference: empty in {', '.join(blank)}")
        return self


def validation_message(error: ValueError) -> str:
    """Where and what, without echoing the input: it may be long, and the message is kept in the run's events."""
    if not isinstance(error, ValidationError):
        return str(error)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'intent'}: {e['msg']}" for e in error.errors())


def with_accepted(seed: IntentCatalogue, accepted: Sequence[AcceptedIntent]) -> IntentCatalogue:
    """The seed with every accepted intent and its new terms; refused (ValueError) where a name is taken."""
    intents = dict(seed.intents)
    terms = dict(seed.terms)
    for item in accepted:
        if item.name in seed.intents:
            raise ValueError(
                f"intent '{item.name}' accepted from proposal {item.proposal} has the name of an intent in "
                f"{INTENTS_PATH.name}: accept the proposal again under another name, or reject it"
            )
        if item.name in intents:
            raise ValueError(f"intent '{item.name}' is accepted from two proposals; reject one of them")
        intents[item.name] = item.intent
        for group, new in item.new_terms.items():
            known = {normalize(term) for term in terms.get(group, ())}
            terms[group] = (*terms.get(group, ()), *(term for term in new if normalize(term) not in known))
    return IntentCatalogue(
        neutral=seed.neutral,
        terms=terms,
        intents=intents,
        welcome_back=seed.welcome_back,
        sha256=_with(seed.sha256, [item.model_dump(mode="json", exclude={"facts"}) for item in accepted]),
    )


def facts_with_accepted(seed: CuratedFacts, accepted: Sequence[AcceptedIntent]) -> CuratedFacts:
    facts = dict(seed.facts)
    for item in accepted:
        facts.update(item.facts)
    given = [{key: fact.model_dump(mode="json") for key, fact in item.facts.items()} for item in accepted]
    return CuratedFacts(facts=facts, sha256=_with(seed.sha256, [facts for facts in given if facts]))


def accepted_version(accepted: Sequence[AcceptedIntent]) -> str:
    """Changes exactly when what is accepted changes: the data version of the accepted set."""
    dumped = json.dumps([item.model_dump(mode="json") for item in accepted], sort_keys=True)
    return hashlib.sha256(dumped.encode()).hexdigest()[:16]


def _with(seed_sha: str, accepted: list) -> str:
    if not accepted:
        return seed_sha
    return hashlib.sha256(f"{seed_sha}\0{json.dumps(accepted, sort_keys=True)}".encode()).hexdigest()


def copied_questions(item: AcceptedIntent, questions: Iterable[str]) -> list[str]:
    """Where the analyst's texts repeat a question users asked: the catalogue holds the team's words, never theirs.
    Named by position only, so the refusal does not repeat the question."""
    asked = {_words(question) for question in questions}
    return [
        f"{field}.{lang}[{index}]"
        for field, by_language in (("phrasings", item.intent.phrasings), ("near_misses", item.intent.near_misses))
        for lang, texts in sorted(by_language.items())
        for index, text in enumerate(texts)
        if _words(text) in asked
    ] + [f"reference.{lang}" for lang, text in sorted(item.intent.reference.items()) if _words(text) in asked]


def accepted_problems(catalogue: IntentCatalogue, facts: CuratedFacts, item: AcceptedIntent) -> list[str]:
    """What would keep the cache from publishing, found before the decision is stored: an answer that states a
    number or names an unknown fact, and phrasings (the new intent's, or another's its new terms take) that the
    term rules do not place on their own intent."""
    problems = [
        f"reference.{lang}: {problem}"
        for lang, text in sorted(item.intent.reference.items())
        for problem in fact_problems(text, facts)
    ]
    rules = IntentMatcher(catalogue.spec(1.0), [], np.zeros((0, 1)))
    for name, intent in sorted(catalogue.intents.items()):
        for lang, texts in sorted(intent.phrasings.items()):
            for index, text in enumerate(texts):
                placed, _, reason = rules.candidate(text)
                if placed != name:
                    where = f"phrasings.{lang}[{index}]" if name == item.name else f"{name}'s phrasings.{lang}[{index}]"
                    problems.append(
                        f"{where} is not matched to '{name}' by the term rules ({reason or f'it matches {placed}'})"
                    )
    return problems


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", normalize(text)))
