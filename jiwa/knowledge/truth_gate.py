"""The truth gate: what LLAMA writes about a topic is published only if it agrees with what the team curated.

An insight passes when
- it contains no URL, e-mail, handle, file name, date or number, and its insight and guidance name no other topic of
  the catalogue that the team's own texts for the topic do not already connect with it;
- each language keeps at least one trigger that reads as that language (triggers in another language are dropped);
- its meaning agrees with its topic: its closest reference text of the topic (the team's description and curated
  insights) is at least `min_agreement` similar, and no more than `max_gap` below the closest text of any other topic;
- it is not a copy of one of the team's insights (`max_copy` similarity), which would add nothing but risk;
- with a verifier, LLAMA's second reading under a yes/no schema says it agrees with the team's insights.
A trigger counts as its language only when it holds no common word of another of the users' languages: a generated
trigger that mixes them is more often noise than a real user's code-switching. Everything dropped is counted by
reason; nothing dropped is published.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from jiwa.catalogue.curated import CuratedBase
from jiwa.catalogue.topics import Topic, TopicCatalogue
from jiwa.domain.insights import CulturalInsight, InsightVerdict, TriggerPhrases
from jiwa.domain.language import TRIGGER_LANGUAGES, detect_language, foreign_words
from jiwa.embedding import Embedder
from jiwa.llm import StructuredLLM
from jiwa.prompts import Prompt

_MONTHS = (
    "january february march april june july august september october november december "
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre dicembre "
    "januari februari maret mei juni juli agustus oktober desember"
)
_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand million "
    "billion dozen percent tre quattro cinque sette otto nove dieci venti cento mille milioni percento "
    "dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas puluh belas ratus ribu juta miliar persen"
)
_PLANTED = {
    "contact": re.compile(r"[\w.+-]+@[\w-]+\.\w+|(?<!\w)@\w{2,}", re.IGNORECASE),
    "file_name": re.compile(
        r"\b[\w-]+\.(?:jpe?g|png|gif|pdf|docx?|xlsx?|txt|html?|zip|exe|mp[34]|csv|json)\b", re.IGNORECASE
    ),
    "url": re.compile(r"https?://|www\.|(?<![\w@.])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b"),
    "date": re.compile(
        rf"\b\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}\b|\b(?:{'|'.join(_MONTHS.split())})\b", re.IGNORECASE
    ),
    "number": re.compile(rf"\d|\b(?:{'|'.join(_NUMBER_WORDS.split())})\b", re.IGNORECASE),
}


@dataclass(frozen=True)
class GateReference:
    """The team's texts per topic, embedded once per run."""

    topics: tuple[Topic, ...]
    vectors: np.ndarray
    owner: np.ndarray
    curated: np.ndarray  # True for the rows that are curated insights (not descriptions)
    other_names: dict[str, re.Pattern | None]
    team_texts: dict[str, str]

    @classmethod
    def build(cls, catalogue: TopicCatalogue, curated: CuratedBase, embedder: Embedder) -> GateReference:
        texts, owner, is_curated = [], [], []
        for index, topic in enumerate(catalogue.topics):
            texts.append(f"{topic.name}. {topic.description}")
            owner.append(index)
            is_curated.append(False)
            for insight in curated.of(topic.id):
                texts.append(f"{insight.insight} {insight.guidance}")
                owner.append(index)
                is_curated.append(True)
        names = {topic.id: _names(topic) for topic in catalogue.topics}
        other_names = {}
        for topic in catalogue.topics:
            # Names the team itself connects with this topic (in its description or curated insights) are allowed.
            curated_text = " ".join(f"{i.insight} {i.guidance}" for i in curated.of(topic.id))
            own_text = f"{topic.name} {topic.description} {curated_text}".casefold()
            others = sorted(
                {name for other, terms in names.items() if other != topic.id for name in terms if name not in own_text},
                key=len,
                reverse=True,
            )
            pattern = "|".join(re.escape(name) for name in others)
            other_names[topic.id] = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE) if others else None
        team_texts = {
            topic.id: "\n".join([f"- {topic.description}", *(f"- {i.insight}" for i in curated.of(topic.id))])
            for topic in catalogue.topics
        }
        return cls(
            tuple(catalogue.topics),
            embedder.embed(texts),
            np.asarray(owner),
            np.asarray(is_curated),
            other_names,
            team_texts,
        )

    def agreement(self, topic: Topic, vector: np.ndarray) -> tuple[float, float]:
        """Similarity to the topic's closest reference text, and to the closest text of any other topic."""
        scores = np.full(len(self.topics), -1.0, dtype=np.float32)
        np.maximum.at(scores, self.owner, self.vectors @ vector)
        own = next(i for i, t in enumerate(self.topics) if t.id == topic.id)
        return float(scores[own]), float(np.delete(scores, own).max(initial=-1.0))

    def closest_topic(self, vector: np.ndarray) -> Topic:
        """The topic whose team texts are closest: where a lesson learned from a conversation belongs."""
        return self.topics[int(self.owner[int(np.argmax(self.vectors @ vector))])]

    def closest_curated(self, vector: np.ndarray) -> float:
        """Similarity to the closest curated insight of any topic."""
        return float((self.vectors[self.curated] @ vector).max(initial=-1.0))


@dataclass
class GateResult:
    passed: list[tuple[Topic, CulturalInsight]] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    triggers_dropped: int = 0

    @property
    def pass_share(self) -> float:
        total = len(self.passed) + sum(self.dropped.values())
        return len(self.passed) / total if total else 0.0


class Verifier(Protocol):
    def agrees(self, topic: Topic, insight: CulturalInsight, team_text: str) -> bool | None: ...


def vet(
    generated: list[tuple[Topic, CulturalInsight]],
    reference: GateReference,
    embedder: Embedder,
    *,
    min_agreement: float,
    max_gap: float,
    max_copy: float = 0.9,
    verifier: Verifier | None = None,
) -> GateResult:
    result = GateResult()
    candidates = []
    for topic, insight in generated:
        reason = _planted(topic, insight, reference)
        if reason:
            result.dropped[reason] += 1
            continue
        triggers, removed = _triggers_in_their_language(topic, insight.triggers)
        result.triggers_dropped += removed
        if triggers is None:
            result.dropped["trigger_language"] += 1
            continue
        candidates.append((topic, insight.model_copy(update={"triggers": triggers})))
    vectors = embedder.embed([f"{insight.insight} {insight.guidance}" for _, insight in candidates])
    for (topic, insight), vector in zip(candidates, vectors, strict=True):
        own, other = reference.agreement(topic, vector)
        if own < min_agreement or own < other - max_gap:
            result.dropped["off_topic"] += 1
        elif reference.closest_curated(vector) >= max_copy:
            result.dropped["copies_the_team"] += 1
        elif verifier is not None and not verifier.agrees(topic, insight, reference.team_texts[topic.id]):
            result.dropped["verifier_disagreed"] += 1
        else:
            result.passed.append((topic, insight))
    return result


def _names(topic: Topic) -> list[str]:
    """How a topic is named in text: its name without the gloss in brackets, each alternative of a slash, and each
    of two proper names joined by "and" ("Galungan and Kuningan" is also "Galungan")."""
    bare = re.sub(r"\([^)]*\)", " ", topic.name)
    names = []
    for part in (p.strip() for p in bare.split("/")):
        names.append(part)
        pair = part.split(" and ")
        if len(pair) == 2 and all(word[:1].isupper() for word in pair):
            names += pair
    return [" ".join(name.split()).casefold() for name in names if len(name.strip()) >= 3]


def planted_content(text: str) -> str | None:
    """The first kind of planted content in the text (contact, file name, URL, date, number), or None."""
    return next((reason for reason, pattern in _PLANTED.items() if pattern.search(text)), None)


def _planted(topic: Topic, insight: CulturalInsight, reference: GateReference) -> str | None:
    texts = [insight.insight, insight.guidance, *insight.triggers.id, *insight.triggers.en, *insight.triggers.it]
    joined = "\n".join(texts)
    reason = planted_content(joined)
    if reason:
        return reason
    # Triggers are what users write, and everyday words such as "maaf" or "belum" are topics of their own: only the
    # insight and the guidance must keep to their topic.
    other = reference.other_names.get(topic.id)
    if other is not None and other.search(f"{insight.insight}\n{insight.guidance}"):
        return "other_topic"
    return None


def _reads_as(text: str, lang: str, topic_words: frozenset[str]) -> bool:
    return detect_language(text) == lang and not foreign_words(text, lang, allowed=topic_words)


def _triggers_in_their_language(topic: Topic, triggers: TriggerPhrases) -> tuple[TriggerPhrases | None, int]:
    # The topic's own term ("what does maaf mean?") is not a sign of mixed languages.
    topic_words = frozenset(re.findall(r"\w+", topic.name.casefold()))
    kept = {lang: [t for t in getattr(triggers, lang) if _reads_as(t, lang, topic_words)] for lang in TRIGGER_LANGUAGES}
    removed = sum(len(getattr(triggers, lang)) - len(kept[lang]) for lang in kept)
    if not all(kept.values()):
        return None, removed
    return TriggerPhrases(**kept), removed


class LlamaVerifier:
    """The second reading: LLAMA, under a yes/no schema, compares the insight with the team's texts of its topic.
    An answer that fails its schema counts as a no: what is served stays what the team would sign."""

    def __init__(self, llm: StructuredLLM, prompt: Prompt) -> None:
        # Greedy, so the same insight always gets the same verdict.
        self.llm = StructuredLLM(llm.backend, temperature=0.0, seed=llm.seed, max_retries=llm.max_retries)
        self.prompt = prompt

    def agrees(self, topic: Topic, insight: CulturalInsight, team_text: str) -> bool:
        verdict = self.llm.generate(
            self.prompt,
            InsightVerdict,
            topic=topic.name,
            reference=team_text,
            claim=f"{insight.insight} {insight.guidance}",
        )
        return verdict is not None and verdict.agrees == "yes"
