"""Scoring retrieval on the team's multilingual evaluation set (tests/data/retrieval_eval.yaml) through the server's
own retrieval step, over the knowledge base a run published."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import yaml

from jiwa.domain.language import LANGUAGES
from jiwa.embedding import Embedder
from jiwa.paths import PROJECT_ROOT
from jiwa.store.memory_index import EVERY_HIT, MemoryIndex, Relevance

EVAL_PATH = PROJECT_ROOT / "tests" / "data" / "retrieval_eval.yaml"


def load_questions() -> list[dict]:
    return yaml.safe_load(EVAL_PATH.read_text())["questions"]


def score(
    index: MemoryIndex,
    embedder: Embedder,
    questions: list[dict],
    k: int = 4,
    depth: int = 10,
    relevance: Relevance = EVERY_HIT,
) -> dict:
    """Per language: hit@k (an acceptable topic among the hits the server sends, at most k), precision (the share
    of sent hits whose topic is acceptable), hits sent per question, and MRR (over the ranking, before `relevance`)."""
    hits: defaultdict[str, list[bool]] = defaultdict(list)
    reciprocal: defaultdict[str, list[float]] = defaultdict(list)
    good: defaultdict[str, int] = defaultdict(int)
    sent: defaultdict[str, int] = defaultdict(int)
    for question, vector in zip(questions, embedder.embed([q["text"] for q in questions]), strict=True):
        served = [hit.id.rsplit("-", 1)[0] for hit in index.search(vector, question["text"], k=k, relevance=relevance)]
        good[question["language"]] += sum(topic in question["topics"] for topic in served)
        sent[question["language"]] += len(served)
        ranked = [hit.id.rsplit("-", 1)[0] for hit in index.search(vector, question["text"], k=depth)]
        first = next((rank for rank, topic in enumerate(ranked, start=1) if topic in question["topics"]), None)
        hits[question["language"]].append(any(topic in question["topics"] for topic in served))
        reciprocal[question["language"]].append(1 / first if first else 0.0)
    return {
        lang: {
            "questions": len(hits[lang]),
            f"hit@{k}": round(float(np.mean(hits[lang])), 3),
            "precision": round(good[lang] / max(1, sent[lang]), 3),
            "sent": round(sent[lang] / max(1, len(hits[lang])), 2),
            "mrr": round(float(np.mean(reciprocal[lang])), 3),
        }
        for lang in LANGUAGES
    }
