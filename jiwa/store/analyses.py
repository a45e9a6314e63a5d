"""Queries of the conversation_analyses and jiwa_profiles tables, shared by the pipeline and the server."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import lancedb
import pyarrow as pa

from jiwa.domain.analysis import AnalysedConversation, StoredAnalysis
from jiwa.domain.status import ANALYSIS_OK
from jiwa.store.lance import sql_list, sql_literal, sql_timestamp
from jiwa.store.schema import ANALYSES_TABLE, PROFILES_TABLE


def stored_analyses(db: lancedb.DBConnection, conversation_ids: list[str]) -> dict[str, StoredAnalysis]:
    """What is stored for these conversations, as the rule of jiwa.enrichment.pending reads it."""
    rows = analysis_rows(db, conversation_ids, columns=["id", "fingerprint", "status", "attempts", "ended_at"])
    return {row.pop("id"): StoredAnalysis(**row) for row in rows}


def analysis_rows(
    db: lancedb.DBConnection, conversation_ids: list[str], columns: list[str] | None = None
) -> list[dict]:
    """The stored rows of these conversations (all columns unless named)."""
    if not conversation_ids or ANALYSES_TABLE not in db.table_names():
        return []
    query = db.open_table(ANALYSES_TABLE).search().where(f"id IN {sql_list(conversation_ids)}")
    if columns:
        query = query.select(columns)
    return query.limit(None).to_arrow().to_pylist()


def profile_rows(table, where: str | None = None) -> pa.Table:
    """The columns the server keeps in memory: who owns each profile, and the profile itself."""
    query = table.search()
    if where:
        query = query.where(where)
    return query.select(["user_id", "tenant", "updated_at", "first_seen", "profile"]).limit(None).to_arrow()


def stored_profiles(db: lancedb.DBConnection) -> dict[str, dict]:
    """Every stored profile's id, sources fingerprint and updated_at."""
    if PROFILES_TABLE not in db.table_names():
        return {}
    rows = (
        db.open_table(PROFILES_TABLE)
        .search()
        .select(["id", "sources_fingerprint", "updated_at"])
        .limit(None)
        .to_arrow()
    )
    return {row["id"]: row for row in rows.to_pylist()}


def profile_id(tenant: str, user_id: str) -> str:
    """A profile's row id: one per (tenant, user_id), since the same id under two tenants is two people."""
    return hashlib.sha256(f"{tenant}\x00{user_id}".encode()).hexdigest()[:32]


def users_with_analyses(
    db: lancedb.DBConnection, *, since: datetime | None = None, run_id: str | None = None
) -> list[tuple[str, str]]:
    """(tenant, user_id) of users with a successful analysis, all or those analysed after `since` (or by this run)."""
    if ANALYSES_TABLE not in db.table_names():  # nothing analysed yet: no users, not an error
        return []
    where = f"status = '{ANALYSIS_OK}'"
    if since is not None:
        where += f" AND (analysed_at > timestamp '{sql_timestamp(since)}' OR run_id = {sql_literal(run_id or '')})"
    rows = db.open_table(ANALYSES_TABLE).search().where(where).select(["tenant", "user_id"]).limit(None).to_arrow()
    return sorted(set(zip(rows.column("tenant").to_pylist(), rows.column("user_id").to_pylist(), strict=True)))


def analyses_of(
    db: lancedb.DBConnection, users: list[tuple[str, str]]
) -> dict[tuple[str, str], list[AnalysedConversation]]:
    """Each (tenant, user_id)'s successful analyses, as the profile merge reads them."""
    if not users or ANALYSES_TABLE not in db.table_names():
        return {}
    wanted = set(users)
    rows = (
        db.open_table(ANALYSES_TABLE)
        .search()
        .where(f"status = '{ANALYSIS_OK}' AND user_id IN {sql_list(sorted({user for _, user in wanted}))}")
        .limit(None)
        .to_arrow()
        .to_pylist()
    )
    grouped: dict[tuple[str, str], list[AnalysedConversation]] = {}
    for row in rows:
        if (row["tenant"], row["user_id"]) not in wanted:
            continue
        signals = json.loads(row["signals"])
        grouped.setdefault((row["tenant"], row["user_id"]), []).append(
            AnalysedConversation(
                conversation_id=row["id"],
                tenant=row["tenant"],
                user_id=row["user_id"],
                fingerprint=row["fingerprint"],
                ended_at=row["ended_at"],
                analysed_at=row["analysed_at"],
                analysis=json.loads(row["analysis"]),
                markers=signals["markers"],
                languages=signals["languages"],
                primary_language=row["primary_language"],
            )
        )
    return grouped
