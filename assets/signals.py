"""Countable signals of a conversation, counted by rule: cultural markers (catalogue/cultural_markers.yaml) and languages."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jiwa.language import language_counts

MARKERS_PATH = Path(__file__).parent / "catalogue" / "cultural_markers.yaml"


class MarkerCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=5)
    phrases: tuple[str, ...] = Field(min_length=1)


class MarkerLexicon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, MarkerCategory]
    sha256: str = ""

    @model_validator(mode="after")
    def _phrase_in_one_category(self) -> "MarkerLexicon":
        owner: dict[str, str] = {}
        for name, category in self.categories.items():
            for phrase in category.phrases:
                key = phrase.lower()
                if key in owner:
                    raise ValueError(f"marker '{phrase}' is in both '{owner[key]}' and '{name}'; keep it in one category")
                owner[key] = name
        return self

    @property
    def category_of(self) -> dict[str, str]:
        return {phrase.lower(): name for name, category in self.categories.items() for phrase in category.phrases}


@dataclass(frozen=True)
class Signals:
    markers: dict[str, int]
    marker_categories: dict[str, int]
    languages: dict[str, int]

    @property
    def primary_language(self) -> str | None:
        if not self.languages:
            return None
        return max(sorted(self.languages), key=self.languages.get)


@lru_cache(maxsize=1)
def load_lexicon(path: Path = MARKERS_PATH) -> MarkerLexicon:
    raw = path.read_bytes()
    return MarkerLexicon(**(yaml.safe_load(raw) or {}), sha256=hashlib.sha256(raw).hexdigest())


_PATTERNS: dict[str, re.Pattern] = {}


def _pattern(lexicon: MarkerLexicon) -> re.Pattern:
    if lexicon.sha256 not in _PATTERNS:
        # Longest phrases first, so "mohon maaf" counts once as itself and not also as "maaf".
        phrases = sorted(lexicon.category_of, key=len, reverse=True)
        _PATTERNS[lexicon.sha256] = re.compile(
            r"(?<!\w)(" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE
        )
    return _PATTERNS[lexicon.sha256]


def count_signals(user_texts: list[str], lexicon: MarkerLexicon | None = None) -> Signals:
    """Markers and languages in what the user wrote; the assistant's words are not the user's signals."""
    lexicon = lexicon or load_lexicon()
    category_of = lexicon.category_of
    markers: Counter[str] = Counter()
    for text in user_texts:
        markers.update(match.group(1).lower() for match in _pattern(lexicon).finditer(text))
    categories: Counter[str] = Counter()
    for marker, count in markers.items():
        categories[category_of[marker]] += count
    return Signals(dict(sorted(markers.items())), dict(sorted(categories.items())), language_counts(user_texts))
