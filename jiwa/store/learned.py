"""Queries of the learned tables: the night's findings, the candidates built from them, the analysts' reviews and
the feedback scores. The rules live in jiwa.knowledge.learning; this module only reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime

import lancedb
import pyarrow as pa

from jiwa.domain.rows.learning import ReviewRow
from jiwa.domain.status import CACHE_ANSWER
from jiwa.store.lance import delete_where, ids_where, sql_list, table_embedder, upsert
from jiwa.store.schema import (
    FEEDBACK_TABLE,
    FINDINGS_TABLE,
    INSIGHTS_TABLE,
    LEARNED_TABLE,
    RESPONSE_CACHE_TABLE,
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


def review_decisions(db: lancedb.DBConnection) -> dict[str, tuple]:
    """(decided_at, decision) per finding id: the latest decision on a lesson it supported."""
    if REVIEWS_TABLE not in db.table_names():
        return {}
    return {
        row["id"]: (row["decided_at"], row["decision"]) for row in db.open_table(REVIEWS_TABLE).to_arrow().to_pylist()
    }


def record_reviews(db: lancedb.DBConnection, decisions: dict[str, str], candidates: list[dict], run_id: str) -> None:
    """A decision on a lesson is kept with every finding that supports it now."""
    if not decisions:
        return
    now = datetime.now(UTC)
    rows = [
        ReviewRow(
            id=finding, candidate=c["id"], decision=decisions[c["id"]], decided_at=now, run_id=run_id
        ).to_columns()
        for c in candidates
        if c["id"] in decisions
        for finding in c["supporting_conversations"]
    ]
    upsert(db, REVIEWS_TABLE, reviews_schema(), pa.Table.from_pylist(rows, schema=reviews_schema()))


def forget_reviews_of_gone_findings(db: lancedb.DBConnection, finding_ids: set[str]) -> None:
    """Decisions kept with findings that no longer exist (forgotten users) go with them."""
    if REVIEWS_TABLE not in db.table_names():
        return
    stored = set(db.open_table(REVIEWS_TABLE).search().select(["id"]).limit(None).to_arrow().column("id").to_pylist())
    gone = sorted(stored - finding_ids)
    if gone:
        delete_where(db, REVIEWS_TABLE, f"id IN {sql_list(gone)}")


def source_versions(db: lancedb.DBConnection) -> tuple:
    """The versions of what learned_insights is built from: equal versions, equal inputs."""
    names = set(db.table_names())
    return tuple(db.open_table(name).version if name in names else None for name in (FINDINGS_TABLE, REVIEWS_TABLE))


def withheld_ids(db: lancedb.DBConnection) -> dict[str, frozenset[str]]:
    """Per tenant, the insights and cached answers its users rated down often enough to be withheld from it."""
    if FEEDBACK_TABLE not in db.table_names():
        return {}
    rows = db.open_table(FEEDBACK_TABLE).search().where("withheld").select(["tenant", "item"]).limit(None).to_arrow()
    withheld: dict[str, set[str]] = {}
    for tenant, item in zip(rows.column("tenant").to_pylist(), rows.column("item").to_pylist(), strict=True):
        withheld.setdefault(tenant, set()).add(item)
    return {tenant: frozenset(items) for tenant, items in withheld.items()}


def team_written_ids(db: lancedb.DBConnection) -> set[str]:
    """Ids of what the team wrote: curated insights and the cache's team-written answers. Votes never withhold them."""
    curated = ids_where(db, INSIGHTS_TABLE, "source = 'curated'")
    return set(curated) | set(ids_where(db, RESPONSE_CACHE_TABLE, f"kind = '{CACHE_ANSWER}' AND source = 'team'"))
