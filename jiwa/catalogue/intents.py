"""The team's curated facts (assets/catalogue/facts.yaml) and common intents (assets/catalogue/intents.yaml), validated on load."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jiwa.catalogue import CATALOGUE_DIR
from jiwa.catalogue.matching import IntentMatcher, IntentRule, MatcherSpec
from jiwa.catalogue.typos import normalize
from jiwa.catalogue.vocabulary import general_words, vocabulary_of
from jiwa.catalogue.welcome import WELCOME_BACK_PATH, load_welcome_back
from jiwa.domain.answers import PLACEHOLDER, states_a_number
from jiwa.domain.language import LANGUAGES
from jiwa.team_yaml import load_team_yaml

FACTS_PATH = CATALOGUE_DIR / "facts.yaml"
INTENTS_PATH = CATALOGUE_DIR / "intents.yaml"
REQUIRED_INTENTS = (
    "greeting",
    "thanks",
    "kitas_definition",
    "kitas_cost",
    "kitas_requirements",
    "kitas_processing_time",
    "kitap_definition",
    "voa_extension",
    "pt_pma_how",
    "pt_pma_capital",
    "nib_oss",
    "npwp_tax_id",
)
# Filled per request, not from the facts file.
PERSONAL_PLACEHOLDERS = frozenset({"name", "last_chat"})


Localized = str | dict[str, str]
# Italian and Indonesian group thousands with a dot and mark decimals with a comma: a number written once, in English
# ("1,200–1,800", "2.5"), is read the other way round there ("1.200–1.800", "2,5").
DECIMAL_COMMA = frozenset({"it", "id"})
_NUMBER = re.compile(r"\d[\d.,]*\d")
_SWAP_SEPARATORS = str.maketrans(",.", ".,")
_LETTER = re.compile(r"[^\W\d_]")


class Fact(BaseModel):
    """A value and unit, the same in every language (a number) or written per language (text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Localized
    unit: Localized = ""
    as_of: date
    source: str = Field(min_length=5)
    # When the team means to check the value again: past it, the cache leaves the answers citing it to Claude.
    review_by: date

    @model_validator(mode="after")
    def _every_language(self) -> Fact:
        for name in ("value", "unit"):
            field = getattr(self, name)
            if isinstance(field, dict) and set(field) != set(LANGUAGES):
                raise ValueError(f"{name} written per language must give exactly {', '.join(LANGUAGES)}")
        if isinstance(self.value, str) and _LETTER.search(self.value):
            raise ValueError(f"value {self.value!r} has words: write it per language ({', '.join(LANGUAGES)})")
        if self.review_by <= self.as_of:
            raise ValueError("review_by must come after as_of")
        return self

    def grounding(self, fact_id: str) -> dict:
        """The fact as Claude may quote it: its value in every language, when it was checked and where from."""
        return {
            "id": fact_id,
            "value": {language: self.render(language) for language in LANGUAGES},
            "as_of": self.as_of.isoformat(),
            "review_by": self.review_by.isoformat(),
            "source": self.source,
        }

    def render(self, language: str = "en") -> str:
        if isinstance(self.value, dict):
            value = self.value[language]
        elif language in DECIMAL_COMMA:
            value = _NUMBER.sub(lambda number: number.group().translate(_SWAP_SEPARATORS), self.value)
        else:
            value = self.value
        unit = self.unit[language] if isinstance(self.unit, dict) else self.unit
        return f"{value} {unit}".strip()


class CuratedFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: dict[str, Fact]
    sha256: str = ""


class Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    require: tuple[str, ...] = Field(min_length=1)
    optional: tuple[str, ...] = ()
    max_words: int = Field(default=24, ge=1)
    phrasings: dict[str, tuple[str, ...]]
    reference: dict[str, str]
    # Questions that share the intent's key terms but ask something else: the cache must leave them to the responder.
    near_misses: dict[str, tuple[str, ...]] = {}


class IntentCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    neutral: tuple[str, ...]
    terms: dict[str, tuple[str, ...]]
    intents: dict[str, Intent]
    # The greeting's variants for someone who comes back (welcome_back.yaml), per language.
    welcome_back: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> IntentCatalogue:
        missing = [intent for intent in REQUIRED_INTENTS if intent not in self.intents]
        if missing:
            raise ValueError(f"intents {', '.join(missing)} are required; add them to {INTENTS_PATH.name}")
        groups_of: dict[str, list[str]] = {}
        for group, group_terms in self.terms.items():
            for term in group_terms:
                groups_of.setdefault(normalize(term), []).append(group)
        # The matcher keeps one group per term, so a term listed twice would silently leave one of its groups.
        shared = {term: groups for term, groups in groups_of.items() if len(groups) > 1}
        if shared:
            raise ValueError(f"terms listed in more than one group: {shared}")
        undefined = [group for group in self.neutral if group not in self.terms]
        if undefined:
            raise ValueError(f"neutral groups {undefined} are not defined under terms")
        for name, intent in self.intents.items():
            unknown = [g for g in (*intent.require, *intent.optional) if g not in self.terms]
            if unknown:
                raise ValueError(f"intent '{name}' uses term groups {unknown} that are not defined under terms")
            for field in ("phrasings", "reference"):
                absent = [lang for lang in LANGUAGES if lang not in getattr(intent, field)]
                if absent:
                    raise ValueError(f"intent '{name}' has no {field} in {', '.join(absent)}")
        return self

    def spec(self, min_similarity: float, facts: CuratedFacts | None = None) -> MatcherSpec:
        """The matcher's rules and vocabularies; with `facts`, the answers' vocabularies hold the facts' words too."""
        rules = tuple(
            IntentRule(name, intent.require, intent.optional, intent.max_words)
            for name, intent in sorted(self.intents.items())
        )
        return MatcherSpec(
            terms=dict(self.terms),
            neutral=self.neutral,
            rules=rules,
            min_similarity=min_similarity,
            vocabulary=self.vocabulary(facts),
            general_words=general_words(),
        )

    def vocabulary(self, facts: CuratedFacts | None = None) -> dict[str, tuple[str, ...]]:
        """Per intent, the words its answer covers (jiwa.catalogue.vocabulary): its phrasings and reference answers
        in every language, facts filled, and the terms of its groups and of the neutral ones. Never a near miss's."""
        neutral = [term for group in self.neutral for term in self.terms[group]]
        return {
            name: vocabulary_of(
                [
                    *neutral,
                    *(term for group in (*intent.require, *intent.optional) for term in self.terms[group]),
                    *(text for texts in intent.phrasings.values() for text in texts),
                    *(
                        PLACEHOLDER.sub(" ", fill_facts(text, facts, lang) if facts else text)
                        for lang, text in intent.reference.items()
                    ),
                ]
            )
            for name, intent in sorted(self.intents.items())
        }


def seed_matcher(
    catalogue: IntentCatalogue, embed, min_similarity: float, facts: CuratedFacts | None = None
) -> IntentMatcher:
    """The matcher built from the team's texts alone (no LLAMA paraphrases): the seed phrasings and the near misses,
    embedded with `embed` (texts -> unit vectors), as the published cache holds them (with `facts`, the vocabularies
    too)."""
    phrasings = [
        (name, text)
        for name, intent in sorted(catalogue.intents.items())
        for _, texts in sorted(intent.phrasings.items())
        for text in texts
    ]
    near_misses = [
        text
        for _, intent in sorted(catalogue.intents.items())
        for _, texts in sorted(intent.near_misses.items())
        for text in texts
    ]
    return IntentMatcher(
        catalogue.spec(min_similarity, facts),
        [name for name, _ in phrasings],
        embed([text for _, text in phrasings]),
        embed(near_misses) if near_misses else None,
    )


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def fact_problems(template: str, facts: CuratedFacts) -> list[str]:
    """Why an answer template may not be served: unknown placeholders, or numbers it states itself."""
    problems = [
        f"unknown placeholder {{{name}}}"
        for name in sorted(placeholders(template) - facts.facts.keys() - PERSONAL_PLACEHOLDERS)
    ]
    if states_a_number(template):
        problems.append("states a number that is not a {fact} placeholder")
    return problems


def fill_facts(template: str, facts: CuratedFacts, language: str) -> str:
    """Replace fact placeholders with their values in that language; personal ones stay for the server."""
    return PLACEHOLDER.sub(
        lambda m: facts.facts[m.group(1)].render(language) if m.group(1) in facts.facts else m.group(0), template
    )


def load_facts(path: Path = FACTS_PATH) -> CuratedFacts:
    raw = path.read_bytes()
    return CuratedFacts(**(load_team_yaml(raw) or {}), sha256=hashlib.sha256(raw).hexdigest())


def load_intents(path: Path = INTENTS_PATH, welcome_back_path: Path = WELCOME_BACK_PATH) -> IntentCatalogue:
    raw = path.read_bytes()
    return IntentCatalogue(
        **(load_team_yaml(raw) or {}),
        welcome_back=load_welcome_back(welcome_back_path),
        sha256=hashlib.sha256(raw + b"\0" + welcome_back_path.read_bytes()).hexdigest(),
    )
