"""The rows of common_response_cache: the matcher's spec, the curated facts, phrasings and answers, in one table so
one commit publishes a consistent set."""

from __future__ import annotations

from typing import Annotated

from jiwa.domain.rows.columns import Row, Vector, one_of
from jiwa.domain.status import CACHE_ANSWER, CACHE_FACT, CACHE_NEAR_MISS, CACHE_PHRASING, CACHE_SPEC


class CacheRow(Row):
    id: str
    kind: Annotated[str, one_of(CACHE_SPEC, CACHE_FACT, CACHE_PHRASING, CACHE_NEAR_MISS, CACHE_ANSWER)]
    intent: str | None
    language: str | None
    style: str | None  # answers: reference, short or long
    template: str | None  # answers: with {fact} placeholders, as written
    text: str  # facts filled in; the spec's JSON for the spec row
    source: str  # team or the model that wrote it
    facts_version: str
    vector: Vector  # phrasings; zeros elsewhere
