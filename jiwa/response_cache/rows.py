"""The rows of the common_response_cache table (jiwa.domain.rows.response_cache.CacheRow), built from the team's
catalogues and what LLAMA wrote."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from jiwa.catalogue.intents import CuratedFacts, fill_facts
from jiwa.catalogue.matching import MatcherSpec
from jiwa.domain.rows.response_cache import CacheRow
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

    def row(
        row_id: str,
        kind: str,
        text: str,
        *,
        intent: str | None = None,
        language: str | None = None,
        style: str | None = None,
        template: str | None = None,
        source: str = "team",
        vector: list[float] = zeros,
    ) -> dict:
        return CacheRow(
            id=row_id,
            kind=kind,
            intent=intent,
            language=language,
            style=style,
            template=template,
            text=text,
            source=source,
            facts_version=version,
            vector=vector,
        ).to_columns()

    rows = [row("spec", CACHE_SPEC, spec.to_json())]
    rows += [
        row(f"fact:{fact_id}", CACHE_FACT, json.dumps(fact.grounding(fact_id), ensure_ascii=False, sort_keys=True))
        for fact_id, fact in sorted(facts.facts.items())
    ]
    rows += [
        row(
            f"phrasing:{intent}:{lang}:{index}",
            CACHE_PHRASING,
            text,
            intent=intent,
            language=lang,
            source=source,
            vector=vector.tolist(),
        )
        for index, ((intent, lang, text, source), vector) in enumerate(zip(phrasings, vectors, strict=True))
    ]
    rows += [
        row(
            f"near_miss:{intent}:{lang}:{index}",
            CACHE_NEAR_MISS,
            text,
            intent=intent,
            language=lang,
            vector=vector.tolist(),
        )
        for index, ((intent, lang, text), vector) in enumerate(
            zip(near_misses, near_miss_vectors if near_miss_vectors is not None else [], strict=True)
        )
    ]
    rows += [
        row(
            f"answer:{intent}:{lang}:{index}",
            CACHE_ANSWER,
            fill_facts(template, facts, lang),
            intent=intent,
            language=lang,
            style=style,
            template=template,
            source=source,
        )
        for index, (intent, lang, style, template, source) in enumerate(answers)
    ]
    return rows
