"""Reads of the conversation_analyses and jiwa_profiles tables, shared by the pipeline and the server."""

from __future__ import annotations

import lancedb
import pyarrow as pa

from jiwa.store.lance import delete_where, sql_list
from jiwa.store.schema import ANALYSES_TABLE, USER_DATA_TABLES


def stored_analyses(db: lancedb.DBConnection, conversation_ids: list[str]) -> dict[str, dict]:
    """What is stored for these conversations: fingerprint, status, attempts, ended_at and analysed_at."""
    if not conversation_ids or ANALYSES_TABLE not in db.table_names():
        return {}
    rows = (
        db.open_table(ANALYSES_TABLE)
        .search()
        .where(f"id IN {sql_list(conversation_ids)}")
        .select(["id", "fingerprint", "status", "attempts", "ended_at", "analysed_at"])
        .limit(None)
        .to_arrow()
        .to_pylist()
    )
    return {row["id"]: row for row in rows}


def profile_rows(table, where: str | None = None) -> pa.Table:
    """The columns the server keeps in memory: who owns each profile, and the profile itself."""
    query = table.search()
    if where:
        query = query.where(where)
    return query.select(["user_id", "tenant", "updated_at", "first_seen", "profile"]).limit(None).to_arrow()


def delete_user(db: lancedb.DBConnection, user_id: str) -> int:
    """Remove a user's analyses and profile from the current version of every user-data table."""
    return sum(delete_where(db, name, f"user_id IN {sql_list([user_id])}") for name in USER_DATA_TABLES)

