"""The rows of the common_response_cache table: one table, so one commit publishes a consistent spec, phrasings and answers."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from jiwa.catalogue.intents import CuratedFacts, fill_facts
from jiwa.catalogue.matching import MatcherSpec
from jiwa.domain.status import CACHE_ANSWER, CACHE_FACT, CACHE_NEAR_MISS, CACHE_PHRASING, CACHE_SPEC


def cache_rows(
    spec: MatcherSpec,
    phrasings: list[tuple],
    vectors: np.ndarray,
    answers: list[tuple],
    facts: CuratedFacts,
    near_misses: Sequence[tuple] = (),
    near_miss_vectors: np.ndarray | None = None,
) -> list[dict]:
    """The table's rows: the matcher's spec, the curated facts, phrasings (intent, language, text, source) with their
    vectors, and answers (intent, language, style, template, source) with the facts filled in per language."""
    version = facts.sha256[:16]
    # LanceDB refuses null vectors; rows that are not phrasings carry zeros and are never searched.
    zeros = [0.0] * vectors.shape[1]
    rows = [
        {
            "id": "spec",
            "kind": CACHE_SPEC,
            "intent": None,
            "language": None,
            "style": None,
            "template": None,
            "text": spec.to_json(),
            "source": "team",
            "facts_version": version,
            "vector": zeros,
        }
    ]
    for fact_id, fact in sorted(facts.facts.items()):
        rows.append(
            {
                "id": f"fact:{fact_id}",
                "kind": CACHE_FACT,
                "intent": None,
                "language": None,
                "style": None,
                "template": None,
                "text": json.dumps(fact.grounding(fact_id), ensure_ascii=False, sort_keys=True),
                "source": "team",
                "facts_version": version,
                "vector": zeros,
            }
        )
    for index, ((intent, lang, text, source), vector) in enumerate(zip(phrasings, vectors, strict=True)):
        rows.append(
            {
                "id": f"phrasing:{intent}:{lang}:{index}",
                "kind": CACHE_PHRASING,
                "intent": intent,
                "language": lang,
                "style": None,
                "template": None,
                "text": text,
                "source": source,
                "facts_version": version,
                "vector": vector.tolist(),
            }
        )
    for index, ((intent, lang, text), vector) in enumerate(
        zip(near_misses, near_miss_vectors if near_miss_vectors is not None else [], strict=True)
    ):
        rows.append(
            {
                "id": f"near_miss:{intent}:{lang}:{index}",
                "kind": CACHE_NEAR_MISS,
                "intent": intent,
                "language": lang,
                "style": None,
                "template": None,
                "text": text,
                "source": "team",
                "facts_version": version,
                "vector": vector.tolist(),
            }
        )
    for index, (intent, lang, style, template, source) in enumerate(answers):
        rows.append(
            {
                "id": f"answer:{intent}:{lang}:{index}",
                "kind": CACHE_ANSWER,
                "intent": intent,
                "language": lang,
                "style": style,
                "template": template,
                "text": fill_facts(template, facts, lang),
                "source": source,
                "facts_version": version,
                "vector": zeros,
            }
        )
    return rows
