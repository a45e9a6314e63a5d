"""Queries of the learned tables: the night's findings, the candidates built from them, the analysts' reviews and
the feedback scores. The rules live in jiwa.knowledge.learning; this module only reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime

import lancedb
import pyarrow as pa

from jiwa.store.lance import table_embedder, upsert
from jiwa.store.schema import (
    FEEDBACK_TABLE,
    FINDINGS_TABLE,
    LEARNED_TABLE,
    REVIEWS_TABLE,
    learned_schema,
    reviews_schema,
)


def stored_findings(db: lancedb.DBConnection) -> tuple[list[dict], pa.Schema | None]:
    """Every stored finding, and the learned table's schema for the embedder that wrote them (None: no findings)."""
    if FINDINGS_TABLE not in db.table_names():
        return [], None
    table = db.open_table(FINDINGS_TABLE)
    model, dimension = table_embedder(table.schema)
    return table.to_arrow().to_pylist(), learned_schema(model, dimension)


def write_candidates(db: lancedb.DBConnection, candidates: list[dict], schema: pa.Schema):
    """The learned table becomes exactly `candidates`, in one commit."""
    return upsert(
        db,
        LEARNED_TABLE,
        schema,
        pa.Table.from_pylist(candidates, schema=schema),
        replace_scope="true",
        rebuild_on_new_embedder=True,
    )


def review_decisions(db: lancedb.DBConnection) -> dict[str, str]:
    """The latest decision per candidate id."""
    if REVIEWS_TABLE not in db.table_names():
        return {}
    rows = sorted(db.open_table(REVIEWS_TABLE).to_arrow().to_pylist(), key=lambda row: row["decided_at"])
    return {row["id"]: row["decision"] for row in rows}


def record_reviews(db: lancedb.DBConnection, decisions: dict[str, str], run_id: str) -> None:
    if not decisions:
        return
    now = datetime.now(UTC)
    rows = [{"id": key, "decision": value, "decided_at": now, "run_id": run_id} for key, value in decisions.items()]
    upsert(db, REVIEWS_TABLE, reviews_schema(), pa.Table.from_pylist(rows, schema=reviews_schema()))


def withheld_ids(db: lancedb.DBConnection) -> frozenset[str]:
    """Insights and cached answers that users rated down often enough to be withheld."""
    if FEEDBACK_TABLE not in db.table_names():
        return frozenset()
    rows = db.open_table(FEEDBACK_TABLE).search().where("withheld").select(["id"]).limit(None).to_arrow()
    return frozenset(rows.column("id").to_pylist())
