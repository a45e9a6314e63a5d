"""LanceDB queries over the cultural-insights table; the server serves from jiwa.store.memory_index instead."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from jiwa.domain.status import SERVED_SOURCES
from jiwa.store.lance import sql_list, table_embedder
from jiwa.store.schema import INSIGHTS_TABLE

_RESULT_COLUMNS = ["id", "topic", "category", "insight", "guidance", "tone_tags"]
SERVED = f"source IN {sql_list(SERVED_SOURCES)}"
_QUERY_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class InsightHit:
    id: str
    topic: str
    category: str
    insight: str
    guidance: str
    tone_tags: tuple[str, ...]
    score: float


def full_text_query(message: str, max_terms: int = 32) -> str:
    """Plain words only: full-text query syntax in user input must not become operators."""
    return " ".join(_QUERY_WORDS.findall(message.lower())[:max_terms])


# Used only once a table has an ANN index: wider probing and exact re-ranking buy back recall (see bench/retrieval.py).
ANN_NPROBES = 64
ANN_REFINE_FACTOR = 4


def search_insights(table, query_vector: np.ndarray, message: str, k: int = 5) -> list[InsightHit]:
    """Hybrid top-k over the served rows (the curated base and what passed the truth gate): vector and full-text
    results fused by reciprocal rank; vector only for wordless input."""
    text = full_text_query(message)
    if text:
        builder = table.search(query_type="hybrid").vector(query_vector).text(text).select(_RESULT_COLUMNS)
        score_column = "_relevance_score"
    else:
        builder = (
            table.search(query_vector, vector_column_name="vector").distance_type("cosine").select(_RESULT_COLUMNS)
        )
        score_column = "_distance"
    builder = builder.where(SERVED, prefilter=True).nprobes(ANN_NPROBES).refine_factor(ANN_REFINE_FACTOR)
    rows = builder.limit(k).to_list()
    return [
        InsightHit(
            id=row["id"],
            topic=row["topic"],
            category=row["category"],
            insight=row["insight"],
            guidance=row["guidance"],
            tone_tags=tuple(row["tone_tags"] or ()),
            score=float(row[score_column]) if score_column == "_relevance_score" else 1.0 - float(row[score_column]),
        )
        for row in rows
    ]


def published_vectors(db, schema, where: str) -> np.ndarray:
    """Vectors of the published insights matching `where`, if the table was embedded like `schema`; else none."""
    dimension = schema.field("vector").type.list_size
    none = np.zeros((0, dimension), dtype=np.float32)
    if INSIGHTS_TABLE not in db.table_names():
        return none
    table = db.open_table(INSIGHTS_TABLE)
    if table_embedder(table.schema) != table_embedder(schema):
        # Another embedder wrote the table; upsert refuses to mix them with a clear error, so compare with nothing.
        return none
    rows = table.search().where(where).select(["vector"]).limit(None).to_arrow()
    return np.asarray(rows.column("vector").to_pylist(), dtype=np.float32).reshape(-1, dimension)


def served_rows(db, columns: list[str]) -> tuple[list[dict], int | None]:
    """The served insights' `columns` and the table version they were read at; none before the first publication."""
    if INSIGHTS_TABLE not in db.table_names():
        return [], None
    table = db.open_table(INSIGHTS_TABLE)
    return table.search().where(SERVED).select(columns).limit(None).to_list(), table.version
