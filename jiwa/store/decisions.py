"""Queries of the analysts' decisions on proposed intents, and of the proposals' questions they are checked against."""

from __future__ import annotations

from datetime import UTC, datetime

import lancedb
import pyarrow as pa

from jiwa.catalogue.accepted import AcceptedIntent
from jiwa.domain.rows.intents import IntentDecisionRow
from jiwa.domain.status import ACCEPT
from jiwa.store.lance import sql_literal, tag_version, upsert
from jiwa.store.schema import INTENT_DECISIONS_TABLE, PROPOSALS_TABLE, intent_decisions_schema


def latest_decisions(db: lancedb.DBConnection) -> list[dict]:
    """The latest decision per proposal, oldest first: a later launch on the same proposal replaces the earlier."""
    if INTENT_DECISIONS_TABLE not in db.table_names():
        return []
    rows = sorted(
        db.open_table(INTENT_DECISIONS_TABLE).to_arrow().to_pylist(), key=lambda r: (r["decided_at"], r["id"])
    )
    latest = {row["proposal"]: row for row in rows}
    return sorted(latest.values(), key=lambda r: (r["decided_at"], r["id"]))


def accepted(db: lancedb.DBConnection, *, leaving_out: str = "") -> list[AcceptedIntent]:
    """What is accepted now, in the order it was decided; leaving_out: a proposal about to be decided again."""
    return [
        AcceptedIntent.model_validate_json(row["content"])
        for row in latest_decisions(db)
        if row["decision"] == ACCEPT and row["proposal"] != leaving_out
    ]


def record_decision(
    db: lancedb.DBConnection, proposal: str, decision: str, item: AcceptedIntent | None, run_id: str
) -> int:
    """One commit with the new row; returns the table version, tagged with the run."""
    row = IntentDecisionRow(
        id=f"{proposal}:{run_id}",
        proposal=proposal,
        decision=decision,
        intent=item.name if item else None,
        content=item.model_dump_json() if item else None,
        decided_at=datetime.now(UTC),
        run_id=run_id,
    )
    schema = intent_decisions_schema()
    table = upsert(db, INTENT_DECISIONS_TABLE, schema, pa.Table.from_pylist([row.to_columns()], schema=schema))
    return tag_version(table, f"decision-{run_id[:8]}")


def proposal_questions(db: lancedb.DBConnection, proposal: str) -> list[str]:
    """The questions users asked in a proposal (user data: compared against, never copied or shown)."""
    if PROPOSALS_TABLE not in db.table_names():
        return []
    query = db.open_table(PROPOSALS_TABLE).search().where(f"proposal = {sql_literal(proposal)}").select(["question"])
    return query.limit(None).to_arrow().column("question").to_pylist()
