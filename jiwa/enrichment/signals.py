"""Countable signals of a conversation, counted by rule: cultural markers of the team's lexicon, and languages."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from jiwa.catalogue.markers import MarkerLexicon, load_lexicon
from jiwa.domain.language import language_counts


@dataclass(frozen=True)
class Signals:
    markers: dict[str, int]
    marker_categories: dict[str, int]
    languages: dict[str, int]

    @property
    def primary_language(self) -> str | None:
        if not self.languages:
            return None
        return max(sorted(self.languages), key=lambda language: self.languages[language])


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
