"""Compaction of every store: the conversation log's segments merged per day, and every LanceDB table rewritten."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from jiwa.convlog import log_root
from jiwa.log_compaction import compact_sealed
from jiwa.store.lance import compact, connect
from jiwa.store.schema import UNRETAINED_TABLES


def compact_stores(data_uri: str, *, retention_hours: float) -> dict:
    """Knowledge tables keep `retention_hours` of versions; user-data tables keep none, so forgotten users leave the disk."""
    log_stats = compact_sealed(Path(log_root(data_uri)))
    db = connect(data_uri)
    retention = timedelta(hours=retention_hours)
    tables = {
        name: compact(db.open_table(name), keep_versions_for=None if name in UNRETAINED_TABLES else retention)
        for name in db.table_names()
    }
    return {
        "conversation_log": log_stats,
        "tables": tables,
        "versions_removed": sum(stats["versions_removed"] for stats in tables.values()),
        "bytes_removed": sum(stats["bytes_removed"] for stats in tables.values()),
    }
