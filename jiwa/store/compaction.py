"""Compaction of every store: deleted conversations physically erased, and every LanceDB table rewritten."""

from __future__ import annotations

from datetime import timedelta

from jiwa.conversations.repository import ConversationRepository
from jiwa.domain.status import SERVED_SOURCES
from jiwa.store.lance import compact, connect, delete_where, sql_list
from jiwa.store.schema import INSIGHTS_TABLE, UNRETAINED_TABLES


def compact_stores(data_uri: str, conversations_url: str, *, retention_hours: float) -> dict:
    """Knowledge tables keep `retention_hours` of versions; user-data tables keep none, so forgotten users leave the disk."""
    repository = ConversationRepository(conversations_url)
    try:
        erased = repository.erase_deleted()
    finally:
        repository.close()
    db = connect(data_uri)
    # Versions before learned_insights wrote nightly findings into the knowledge base. They came from users'
    # conversations, without a user to forget them by, and were never served: they go, with their old versions.
    legacy = delete_where(db, INSIGHTS_TABLE, f"source NOT IN {sql_list(SERVED_SOURCES)}")
    retention = timedelta(hours=retention_hours)
    tables = {
        name: compact(
            db.open_table(name),
            keep_versions_for=None if name in UNRETAINED_TABLES or (legacy and name == INSIGHTS_TABLE) else retention,
        )
        for name in db.table_names()
    }
    return {
        "conversations": erased,
        "legacy_nightly_rows_removed": legacy,
        "tables": tables,
        "versions_removed": sum(stats["versions_removed"] for stats in tables.values()),
        "bytes_removed": sum(stats["bytes_removed"] for stats in tables.values()),
    }
