"""Forgetting a user: every step, in order, and the one place a new store that holds user data must join.

A user is (tenant, user_id). What they wrote, and everything inferred about them, lives in these places:

1. the server's memory: the profile it serves, and the corrections of it it holds, are dropped at once, and a
   profile built from conversations older
   than the forget is never served again (serving.profiles.ProfileStore.stop_serving);
2. the user-data tables (USER_DATA_TABLES: conversation_analyses, jiwa_profiles, nightly_findings,
   intent_proposals): the user's rows are deleted, one commit per table (delete_user_rows);
3. learned lessons: the candidates are rebuilt from the findings that remain, so the user's support is gone, a
   candidate below JIWA_LEARNING_MIN_USERS stops being served and one with no support left is deleted
   (jiwa.knowledge.learning.rebuild_learned);
4. the conversation store: their events (memory corrections included), conversations and user row are deleted in
   one transaction, and a tombstone keeps only their id and the time, so the pipeline sweeps what runs under way
   wrote and every server process stops serving their profile (jiwa.conversations.repository.forget);
5. runs already under way: every run that writes user data commits through commit_user_rows, which sweeps what
   the run wrote about a user forgotten while it ran right after the commit (sweep_forgotten), and the learned
   candidates are rebuilt after the sweep;
6. old versions: compaction (hourly, and in the nightly job) keeps no older version or tag of the tables derived
   from users (UNRETAINED_TABLES), tags of the knowledge tables expire with the retention, and the conversation
   store erases deleted rows physically (SQLite: secure_delete and a WAL checkpoint; PostgreSQL: VACUUM)
   (jiwa.store.compaction.compact_stores).

Dagster's run storage never holds any of it: asset metadata shows counts, ids and aggregates only.
Steps 1 to 4 run in forget_user, at DELETE /v1/users/{id}; 5 and 6 run in the pipeline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import lancedb
import pyarrow as pa

from jiwa.conversations.reader import EventReader
from jiwa.knowledge.learning import rebuild_learned
from jiwa.settings import LearningSettings
from jiwa.store.lance import delete_where, ids_where, sql_list, sql_literal, sql_timestamp, tag_version, upsert
from jiwa.store.schema import (
    ANALYSES_TABLE,
    FINDINGS_TABLE,
    PROFILES_TABLE,
    PROPOSALS_TABLE,
    USER_DATA_TABLES,
)

# The column of each user-data table that says when the evidence behind a row was written: a row from before the
# forget goes, a row about conversations the user had after coming back stays.
EVIDENCE_TIME = {
    ANALYSES_TABLE: "ended_at",
    PROFILES_TABLE: "first_seen",
    FINDINGS_TABLE: "ended_at",
    PROPOSALS_TABLE: "asked_at",
}


class ServedMemory(Protocol):
    def stop_serving(self, tenant: str, user_id: str) -> None: ...


class UserLog(Protocol):
    async def forget(self, tenant: str, user_id: str) -> int: ...


@dataclass(frozen=True)
class ForgetReport:
    events_removed: int
    derived_rows_removed: int


class ForgetIncomplete(RuntimeError):
    """A step failed before the log was touched, so the user is still known and the forget can simply be repeated."""


async def forget_user(
    tenant: str,
    user_id: str,
    *,
    memory: ServedMemory,
    db: lancedb.DBConnection,
    log: UserLog,
    learning: LearningSettings,
) -> ForgetReport:
    """Steps 1 to 4, in order. The log goes last: while it still knows the user, a failed forget can be repeated."""
    memory.stop_serving(tenant, user_id)
    try:
        derived = await asyncio.to_thread(_forget_derived, db, tenant, user_id, learning)
    except Exception as exc:  # lance raises many kinds; what matters is that nothing irreversible happened yet
        raise ForgetIncomplete(f"the user-data tables refused the delete: {type(exc).__name__}") from exc
    events = await log.forget(tenant, user_id)
    return ForgetReport(events_removed=events, derived_rows_removed=derived)


def _forget_derived(db: lancedb.DBConnection, tenant: str, user_id: str, learning: LearningSettings) -> int:
    removed = delete_user_rows(db, tenant, user_id)
    # Always, not only when findings went now: a forget repeated after a failed rebuild must still rebuild.
    if FINDINGS_TABLE in db.table_names():
        rebuild_learned(db, learning)
    return sum(removed.values())


def delete_user_rows(db: lancedb.DBConnection, tenant: str, user_id: str) -> dict[str, int]:
    """Step 2: the user's rows in the current version of every user-data table, by table."""
    user = f"tenant = {sql_literal(tenant)} AND user_id = {sql_literal(user_id)}"
    return {name: delete_rows_matching(db, name, user) for name in USER_DATA_TABLES}


def delete_rows_matching(db: lancedb.DBConnection, name: str, predicate: str) -> int:
    """Delete by the matching rows' ids, never by the predicate itself: LanceDB records a delete's filter text in the
    table's transaction and manifest files, which compaction keeps, so a filter naming the user would outlive them.
    A table with no matching row gets no commit at all."""
    matching = ids_where(db, name, predicate)
    return delete_where(db, name, f"id IN {sql_list(matching)}") if matching else 0


def commit_user_rows(
    db: lancedb.DBConnection,
    reader: EventReader,
    name: str,
    schema: pa.Schema,
    rows: list[dict],
    label: str,
    *,
    replace_scope: str | None = None,
) -> dict:
    """Write a run's rows of a user-data table in one commit, then step 5: sweep what the run wrote about a user
    forgotten while it ran. Every writer of user data commits through here, so the sweep cannot be left out."""
    table = upsert(db, name, schema, pa.Table.from_pylist(rows, schema=schema), replace_scope=replace_scope)
    table.optimize()
    version = tag_version(table, label)
    swept = sweep_forgotten(db, reader)
    return {"table_version": version, "table_rows": table.count_rows(), "forgotten_rows_swept": swept}


def sweep_forgotten(db: lancedb.DBConnection, reader: EventReader) -> int:
    """Step 5: delete what a run wrote about a user forgotten while it ran (the server deleted the rest).

    Judged by when the evidence happened, not when the run wrote: a user who came back after being forgotten keeps
    what was learnt since.
    """
    removed = 0
    for (tenant, user_id), at in reader.forgotten_users().items():
        user = f"tenant = {sql_literal(tenant)} AND user_id = {sql_literal(user_id)}"
        for table, column in EVIDENCE_TIME.items():
            removed += delete_rows_matching(db, table, f"{user} AND {column} <= timestamp '{sql_timestamp(at)}'")
    return removed
