"""Deciding whether a message is one of the cached common intents, and which: precision first.

Three gates, all must pass. Terms: the message must contain a term of each group the intent requires and no term
of any group the intent does not allow, which is what tells a KITAS price question from a KITAS definition, a
KITAS from a KITAP, and a KITAS cost from a villa's. Exactly one intent may pass. Meaning: the message's embedding
must be close enough to one of that intent's phrasings, which turns away messages that share the words but ask
something else. Words (jiwa.catalogue.vocabulary): the message's words must be ones the intent's answer covers,
which turns away messages that ask, in the intent's words, a detail its answer does not give. The pipeline
publishes the spec (the vocabularies with it) and the phrasings; the server and the benchmarks match with them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from jiwa.catalogue.typos import TypoIndex, may_be_a_typo, normalize
from jiwa.catalogue.vocabulary import Vocabulary

_TOKEN = re.compile(r"[\w'’-]+")
# A message asks several questions when it has two question marks or more ("??" is one): it is then matched clause by
# clause. A clause ends at a question or exclamation mark, a semicolon, a new line, an ellipsis or a full stop before
# a space (not the one in "10.000" or "pt.pma").
_SEVERAL_QUESTIONS = 2
_CLAUSE_END = re.compile(r"(?<=[?!;\n…])(?![?!;\n…])|(?<=\.)(?=\s)")
# Inside a clause, a social opener or closer sits before or after a comma or colon: "hi, how much is a kitas".
_CLAUSE_PART = re.compile(r"\s*[,:]\s*")
# A social clause is short: the social terms and at most this many other words ("hai kak", "ciao a tutti").
_SOCIAL_MAX_WORDS = 6
_SOCIAL_MAX_OTHER_WORDS = 2
# One answer for several questions is right only if each of them is plainly the intent's question: the second one of
# a message is often a narrower thing about the same topic ("where to buy a sim card? telkomsel or xl better?", 0.49
# from the SIM card phrasings), which the answer does not say. Each must be this much closer than a lone question.
SEVERAL_QUESTIONS_MARGIN = 0.15
# A question this short that names no topic asks on about the one before it (see IntentMatcher._continued).
_CONTINUATION_MAX_WORDS = 4


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
    # What each intent's answer covers, and the words every intent's covers (jiwa.catalogue.vocabulary); none: the
    # words gate is off, as in a cache published before it.
    vocabulary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    general_words: tuple[str, ...] = ()

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
                "vocabulary": {intent: list(words) for intent, words in self.vocabulary.items()},
                "general_words": list(self.general_words),
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
            vocabulary={intent: tuple(words) for intent, words in data.get("vocabulary", {}).items()},
            general_words=tuple(data.get("general_words", ())),
        )


class TermFinder:
    """Which term groups a text mentions: whole words, longest phrase first, one typo tolerated in long words
    (never in EXACT_ONLY ones)."""

    def __init__(self, terms: dict[str, tuple[str, ...]]) -> None:
        self._group_of = {normalize(term): group for group, group_terms in terms.items() for term in group_terms}
        phrases = sorted(self._group_of, key=len, reverse=True)
        # A term may follow an apostrophe, as in Italian elision ("l'npwp").
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)")
        self._typos = TypoIndex(self._group_of)
        # A turn asks twice (the cache's candidate, then the facts for Claude): the scan runs once per message.
        self._found = lru_cache(maxsize=4096)(self._find)

    def groups(self, text: str) -> set[str]:
        return set(self._found(text))

    def other_words(self, text: str, groups: frozenset[str]) -> list[str]:
        """The words of the text outside the exact terms of these groups."""
        normalized = normalize(text)
        covered = [False] * len(normalized)
        for match in self._pattern.finditer(normalized):
            if self._group_of[match.group(1)] in groups:
                covered[match.start() : match.end()] = [True] * (match.end() - match.start())
        return [token.group() for token in _TOKEN.finditer(normalized) if not any(covered[token.start() : token.end()])]

    def _find(self, text: str) -> frozenset[str]:
        normalized = normalize(text)
        found: set[str] = set()
        covered = [False] * len(normalized)
        for match in self._pattern.finditer(normalized):
            found.add(self._group_of[match.group(1)])
            covered[match.start() : match.end()] = [True] * (match.end() - match.start())
        for token in _TOKEN.finditer(normalized):
            word = token.group().strip("'-")
            if may_be_a_typo(word) and not any(covered[token.start() : token.end()]):
                group = self._fuzzy_group(word)
                if group:
                    found.add(group)
        return frozenset(found)

    def _fuzzy_group(self, word: str) -> str | None:
        close = {self._group_of[term] for term in self._typos.near(word)}
        # "kitaz" is one edit from both kitas and kitap: ambiguous, so it counts as neither.
        return close.pop() if len(close) == 1 else None


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
        # Built here, where a cache is loaded, not on the first message that reaches the words gate (about 30 ms).
        self.vocabulary = Vocabulary(spec.general_words, spec.vocabulary) if spec.vocabulary else None
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
        """The one intent whose term rules the message satisfies, or None and why not.

        A message that asks several questions is a candidate only when every question in it, on its own (a short
        one that names no group counted with the one before it: _continued), is one of the same intent; what is
        only social around them ("ciao!", "thanks", a bare "?") does not count. A question the rules do not place,
        or two of different intents, leave the whole message to the responder: half an answer, or two pre-written
        answers stacked, is not what the user asked for."""
        questions = self._questions(message)
        if questions is None:
            return self._single(message)
        groups = self.finder.groups(message)
        intents = []
        for number, question in enumerate(questions, 1):
            intent, _, reason = self._single(question)
            if intent is None:
                reason = f"several questions, question {number} of {len(questions)}: {reason}"
                break
            intents.append(intent)
        else:
            if not questions:
                reason = "several questions: only social ones"
            elif len(set(intents)) > 1:
                reason = f"several questions of different intents: {', '.join(dict.fromkeys(intents))}"
            else:
                return intents[0], groups, ""
        return None, groups, reason

    def uncovered(self, intent: str, message: str) -> str:
        """The words gate, for a candidate the term rules chose: why the intent's answer does not cover what the
        message asks about ("asks about words the answer does not cover: notary"), or "" when it does. Cheap: the
        server asks it before paying for an embedding. For several questions, the social clauses are set aside."""
        return self.vocabulary.gap(intent, " ".join(self.questions(message))) if self.vocabulary else ""

    def questions(self, message: str) -> tuple[str, ...]:
        """What the meaning gate compares with the candidate's phrasings, one vector each: the message itself, or,
        when it asks several questions, each question without the social clauses around it."""
        questions = self._questions(message)
        return (message,) if questions is None else questions

    def _single(self, message: str) -> tuple[str | None, set[str], str]:
        groups = self.finder.groups(message)
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

    def _questions(self, message: str) -> tuple[str, ...] | None:
        """Its clauses that are not only social, for a message that asks several questions; None for any other."""
        if len(re.findall(r"\?+", message)) < _SEVERAL_QUESTIONS:
            return None
        kept = []
        for clause in _CLAUSE_END.split(message):
            parts = _CLAUSE_PART.split(clause.strip())
            # "hi, how much is a kitas" asks what it asks without the "hi": openers and closers are set aside.
            first, last = 0, len(parts)
            while first < last and self._social(parts[first]):
                first += 1
            while last > first and self._social(parts[last - 1]):
                last -= 1
            if first < last:
                kept.append(clause.strip() if (first, last) == (0, len(parts)) else ", ".join(parts[first:last]))
        return tuple(self._continued(kept))

    def _continued(self, questions: list[str]) -> list[str]:
        """Each question with the short ones after it that name no group of their own ("SKTT itu apa? wajib buat
        wna?", "capitale minimo pt pma? 10 miliardi davvero??"): those ask on about the question before them, so
        they are matched and embedded together with it. A longer one ("posso essere io tutti e due?") asks a question
        of its own. One that names a group, even only an aspect ("quanto costa?"), is a question of its own: an
        intent's rules allowing a group does not mean its answer says it ("posso cambiare sponsor? quanto costa?"),
        and a joined clause escapes the wider margin each question must clear."""
        joined: list[str] = []
        for question in questions:
            short = len(_TOKEN.findall(question)) <= _CONTINUATION_MAX_WORDS
            if joined and short and not self.finder.groups(question) - set(self.spec.neutral):
                joined[-1] = f"{joined[-1]} {question}"
            else:
                joined.append(question)
        return joined

    def _social(self, text: str) -> bool:
        """Whether a clause only says what the catalogue's neutral groups hold (a greeting, thanks, an apology); one
        with no words at all (a bare "?", an emoji) says nothing either. A goodbye is not neutral: "bye, but how much
        is a KITAS?" is one of the team's near misses."""
        words = _TOKEN.findall(normalize(text))
        if not words:
            return True
        groups, social = self.finder.groups(text), frozenset(self.spec.neutral)
        return (
            bool(groups)
            and groups <= social
            and len(words) <= _SOCIAL_MAX_WORDS
            and len(self.finder.other_words(text, social)) <= _SOCIAL_MAX_OTHER_WORDS
        )

    def match(self, message: str, vector: np.ndarray | None) -> MatchResult:
        """All three gates. For a message that asks several questions, `vector` holds one row per text of
        questions()."""
        intent, groups, reason = self.candidate(message)
        if intent is None:
            return MatchResult(None, reason=reason, groups=groups)
        gap = self.uncovered(intent, message)
        if gap:
            return MatchResult(None, intent, reason=gap, groups=groups)
        if len(self.questions(message)) > 1 and (vector is None or np.ndim(vector) != 2):
            # The whole message's vector would let one plain question carry another through the gate.
            return MatchResult(None, intent, reason="several questions: one vector for each needed", groups=groups)
        return self.confirm(intent, vector, groups)

    def confirm(self, intent: str, vector: np.ndarray | None, groups: set[str] | None = None) -> MatchResult:
        """The meaning gate for a candidate the term rules already chose. A matrix of vectors (one per question of a
        message that asks several) passes only if every one of them does."""
        groups = groups or set()
        if vector is not None and np.ndim(vector) == 2 and len(vector) > 1:
            bar = self.spec.min_similarity + SEVERAL_QUESTIONS_MARGIN
            results = [self._confirm_one(intent, row, groups, bar) for row in np.asarray(vector)]
            for number, result in enumerate(results, 1):
                if result.intent is None:
                    result.reason = f"several questions, question {number} of {len(results)}: {result.reason}"
                    return result
            return MatchResult(intent, intent, min(result.similarity for result in results), "", groups)
        return self._confirm_one(intent, None if vector is None else np.asarray(vector).reshape(-1), groups)

    def _confirm_one(
        self, intent: str, vector: np.ndarray | None, groups: set[str], bar: float | None = None
    ) -> MatchResult:
        bar = self.spec.min_similarity if bar is None else bar
        mask = self._intents == intent
        if vector is None or not mask.any():
            return MatchResult(None, intent, reason="no phrasings to compare", groups=groups)
        similarity = float(np.max(self._vectors[mask] @ np.asarray(vector, dtype=np.float32)))
        if similarity < bar:
            return MatchResult(None, intent, similarity, f"similarity {similarity:.2f} below {bar:g}", groups)
        if len(self._near_misses):
            # Sharing an intent's words is not asking its question: a message closer to one of the team's near
            # misses (of any intent) than to the intent's own phrasings is left to the responder.
            closest_miss = float(np.max(self._near_misses @ np.asarray(vector, dtype=np.float32)))
            if closest_miss >= similarity:
                return MatchResult(
                    None, intent, similarity, f"closer to a near miss ({closest_miss:.2f} >= {similarity:.2f})", groups
                )
        return MatchResult(intent, intent, similarity, "", groups)
