"""Scoring cache matching on the team's labelled evaluation set (tests/data/intent_eval.yaml)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from jiwa.paths import PROJECT_ROOT

EVAL_PATH = PROJECT_ROOT / "tests" / "data" / "intent_eval.yaml"


@dataclass
class EvalCase:
    message: str
    language: str
    intent: str | None


@dataclass
class EvalScore:
    positives: Counter = field(default_factory=Counter)
    hits: Counter = field(default_factory=Counter)
    served: Counter = field(default_factory=Counter)
    wrong: Counter = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    match_seconds: list[float] = field(default_factory=list)

    def hit_rate(self, language: str | None = None) -> float:
        keys = [language] if language else list(self.positives)
        return sum(self.hits[k] for k in keys) / max(1, sum(self.positives[k] for k in keys))

    def wrong_share(self, language: str | None = None) -> float:
        keys = [language] if language else list(self.served)
        return sum(self.wrong[k] for k in keys) / max(1, sum(self.served[k] for k in keys))


def load_cases(path: Path = EVAL_PATH) -> list[EvalCase]:
    data = yaml.safe_load(path.read_text())
    cases = [
        EvalCase(message, language, intent)
        for intent, languages in data["positives"].items()
        for language, messages in languages.items()
        for message in messages
    ]
    cases += [
        EvalCase(message, language, None) for language, messages in data["negatives"].items() for message in messages
    ]
    return cases


def score(decide, cases: list[EvalCase], vectors: np.ndarray) -> EvalScore:
    """decide(message, vector) -> intent or None; timed without the embedding, which is computed beforehand."""
    result = EvalScore()
    for case, vector in zip(cases, vectors, strict=True):
        started = time.perf_counter()
        intent = decide(case.message, vector)
        result.match_seconds.append(time.perf_counter() - started)
        if case.intent is not None:
            result.positives[case.language] += 1
            result.hits[case.language] += intent == case.intent
        if intent is not None:
            result.served[case.language] += 1
            if intent != case.intent:
                result.wrong[case.language] += 1
                result.wrong_examples.append(f"{case.language}: {case.message!r} -> {intent} (expected {case.intent})")
    return result
