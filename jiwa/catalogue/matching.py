"""Deciding whether a message is one of the cached common intents, and which: precision first.

Two gates, both must pass. Terms: the message must contain a term of each group the intent requires and no term
of any group the intent does not allow, which is what tells a KITAS price question from a KITAS definition, a
KITAS from a KITAP, and a KITAS cost from a villa's. Exactly one intent may pass. Meaning: the message's embedding
must be close enough to one of that intent's phrasings, which turns away messages that share the words but ask
something else. The pipeline publishes the spec and the phrasings; the server and the benchmarks match with them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

_TOKEN = re.compile(r"[\w'’-]+")
_MIN_FUZZY_LENGTH = 5
# Words one letter away from another word that asks something else: "quando" (when) is one edit from "quanto"
# (how much), "molta" from "multa" (fine), "conti" from "costi". Read as a typo, they would turn a question about
# when into one about price, so they are matched exactly or not at all: never corrected, never a correction.
EXACT_ONLY = frozenset(
    {
        # Question words.
        *("when", "what", "where", "which", "while", "whose", "how", "much", "many", "long"),
        *("quando", "quanto", "quanta", "quanti", "quante", "quale", "quali", "dove", "come", "cosa", "perché"),
        *("perche", "mentre"),
        *("kapan", "berapa", "apa", "mana", "dimana", "siapa", "kenapa", "mengapa", "bagaimana", "gimana"),
        # Short words with a near neighbour of another meaning.
        *("molto", "molta", "molti", "multa", "multe", "conto", "conti", "costo", "costi", "prima", "dopo"),
        *("before", "after", "sebelum", "sesudah", "setelah", "belum", "sudah", "tanpa", "senza", "without"),
        *("tunggal", "batas", "termine"),  # single / limit / term: not tinggal (stay), batal (cancel), termina (ends)
        *("anche", "aiuto"),  # also / help: not banche (banks), auto (car)
    }
)


@dataclass(frozen=True)
class IntentRule:
    intent: str
    require: tuple[str, ...]
    optional: tuple[str, ...] = ()
    max_words: int = 24


@dataclass(frozen=True)
class MatcherSpec:
    terms: dict[str, tuple[str, ...]]
    neutral: tuple[str, ...]
    rules: tuple[IntentRule, ...]
    min_similarity: float = 0.5

    def to_json(self) -> str:
        return json.dumps(
            {
                "terms": {group: list(terms) for group, terms in self.terms.items()},
                "neutral": list(self.neutral),
                "rules": [
                    rule.__dict__ | {"require": list(rule.require), "optional": list(rule.optional)}
                    for rule in self.rules
                ],
                "min_similarity": self.min_similarity,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str) -> MatcherSpec:
        data = json.loads(raw)
        return cls(
            terms={group: tuple(terms) for group, terms in data["terms"].items()},
            neutral=tuple(data["neutral"]),
            rules=tuple(
                IntentRule(r["intent"], tuple(r["require"]), tuple(r["optional"]), int(r["max_words"]))
                for r in data["rules"]
            ),
            min_similarity=float(data["min_similarity"]),
        )


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return " ".join(text.split())


class TermFinder:
    """Which term groups a text mentions: whole words, longest phrase first, one typo tolerated in long words
    (never in EXACT_ONLY ones)."""

    def __init__(self, terms: dict[str, tuple[str, ...]]) -> None:
        self._group_of = {normalize(term): group for group, group_terms in terms.items() for term in group_terms}
        phrases = sorted(self._group_of, key=len, reverse=True)
        # A term may follow an apostrophe, as in Italian elision ("l'npwp").
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)")
        # Every word one edit from a term shares a one-letter deletion with it (or is one, or has the term as one):
        # looking those up finds the few terms worth checking, instead of comparing each word with every term.
        self._terms_by_deletion: dict[str, set[str]] = {}
        for term in self._group_of:
            if " " not in term and len(term) >= _MIN_FUZZY_LENGTH - 1 and term not in EXACT_ONLY:
                for variant in _with_deletions(term):
                    self._terms_by_deletion.setdefault(variant, set()).add(term)
        # A turn asks twice (the cache's candidate, then the facts for Claude): the scan runs once per message.
        self._found = lru_cache(maxsize=4096)(self._find)

    def groups(self, text: str) -> set[str]:
        return set(self._found(text))

    def _find(self, text: str) -> frozenset[str]:
        normalized = normalize(text)
        found: set[str] = set()
        covered = [False] * len(normalized)
        for match in self._pattern.finditer(normalized):
            found.add(self._group_of[match.group(1)])
            covered[match.start() : match.end()] = [True] * (match.end() - match.start())
        for token in _TOKEN.finditer(normalized):
            word = token.group().strip("'-")
            if (
                len(word) >= _MIN_FUZZY_LENGTH
                and word not in EXACT_ONLY
                and not any(covered[token.start() : token.end()])
            ):
                group = self._fuzzy_group(word)
                if group:
                    found.add(group)
        return frozenset(found)

    def _fuzzy_group(self, word: str) -> str | None:
        near = set().union(*(self._terms_by_deletion.get(variant, ()) for variant in _with_deletions(word)))
        close = {self._group_of[term] for term in near if _one_edit(word, term)}
        # "kitaz" is one edit from both kitas and kitap: ambiguous, so it counts as neither.
        return close.pop() if len(close) == 1 else None


def _with_deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by exactly one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    if len(b) - len(a) == 1:
        return any(a == b[:i] + b[i + 1 :] for i in range(len(b)))
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        return True
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]


@dataclass
class MatchResult:
    intent: str | None
    candidate: str | None = None
    similarity: float = 0.0
    reason: str = ""
    groups: set[str] = field(default_factory=set)


class IntentMatcher:
    def __init__(
        self,
        spec: MatcherSpec,
        phrasing_intents: list[str],
        phrasing_vectors: np.ndarray,
        near_miss_vectors: np.ndarray | None = None,
    ) -> None:
        self.spec = spec
        self.finder = TermFinder(spec.terms)
        self._intents = np.asarray(phrasing_intents)
        self._vectors = np.asarray(phrasing_vectors, dtype=np.float32)
        # The team's near misses: questions that use an intent's words to ask something its answer does not say.
        self._near_misses = np.asarray(
            near_miss_vectors if near_miss_vectors is not None else np.zeros((0, self._vectors.shape[-1] or 1)),
            dtype=np.float32,
        )

    @property
    def phrasings(self) -> tuple[np.ndarray, np.ndarray]:
        """The intent of each phrasing and its vector."""
        return self._intents, self._vectors

    def candidate(self, message: str) -> tuple[str | None, set[str], str]:
        """The one intent whose term rules the message satisfies, or None and why not."""
        groups = self.finder.groups(message)
        if len(re.findall(r"\?+", message)) >= 2:
            return None, groups, "several questions"
        words = len(_TOKEN.findall(message))
        passing = [
            rule.intent
            for rule in self.spec.rules
            if words <= rule.max_words
            and all(group in groups for group in rule.require)
            and groups <= set(rule.require) | set(rule.optional) | set(self.spec.neutral)
        ]
        if len(passing) != 1:
            return None, groups, "no intent's terms" if not passing else f"ambiguous: {', '.join(passing)}"
        return passing[0], groups, ""

    def match(self, message: str, vector: np.ndarray | None) -> MatchResult:
        intent, groups, reason = self.candidate(message)
        if intent is None:
            return MatchResult(None, reason=reason, groups=groups)
        return self.confirm(intent, vector, groups)

    def confirm(self, intent: str, vector: np.ndarray | None, groups: set[str] | None = None) -> MatchResult:
        """The meaning gate for a candidate the term rules already chose."""
        groups = groups or set()
        mask = self._intents == intent
        if vector is None or not mask.any():
            return MatchResult(None, intent, reason="no phrasings to compare", groups=groups)
        similarity = float(np.max(self._vectors[mask] @ np.asarray(vector, dtype=np.float32)))
        if similarity < self.spec.min_similarity:
            return MatchResult(
                None, intent, similarity, f"similarity {similarity:.2f} below {self.spec.min_similarity}", groups
            )
        if len(self._near_misses):
            # Sharing an intent's words is not asking its question: a message closer to one of the team's near
            # misses (of any intent) than to the intent's own phrasings is left to the responder.
            closest_miss = float(np.max(self._near_misses @ np.asarray(vector, dtype=np.float32)))
            if closest_miss >= similarity:
                return MatchResult(
                    None, intent, similarity, f"closer to a near miss ({closest_miss:.2f} >= {similarity:.2f})", groups
                )
        return MatchResult(intent, intent, similarity, "", groups)
