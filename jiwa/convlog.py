"""The conversation log: events the server appends, in segment files the pipeline reads without locks.

The server appends each event to an active JSON-lines segment it alone writes, fsyncs before acknowledging, and
every so often seals the segment into an immutable Parquet file. The pipeline and the server read sealed segments
with DuckDB; no process ever holds open a file another process writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

LOG_DIR = "conversation_log"
ACTIVE_DIR = "active"
SEALED_DIR = "sealed"

TURN = "turn"
END = "end"
FEEDBACK = "feedback"
FORGET = "forget"

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("conversation_id", pa.string()),
        pa.field("message_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("content", pa.string()),
        pa.field("language", pa.string()),
        pa.field("source", pa.string()),
        pa.field("cache_intent", pa.string()),
        pa.field("insight_ids", pa.list_(pa.string())),
        pa.field("model", pa.string()),
        pa.field("input_tokens", pa.int32()),
        pa.field("output_tokens", pa.int32()),
        pa.field("rating", pa.string()),
        pa.field("comment", pa.string()),
    ]
)


@dataclass
class LogEvent:
    event_id: str
    type: str
    created_at: datetime
    tenant: str
    user_id: str
    conversation_id: str | None = None
    message_id: str | None = None
    role: str | None = None
    content: str | None = None
    language: str | None = None
    source: str | None = None
    cache_intent: str | None = None
    insight_ids: list[str] = field(default_factory=list)
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    rating: str | None = None
    comment: str | None = None

    def to_json(self) -> str:
        payload = asdict(self)
        payload["created_at"] = self.created_at.isoformat()
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, payload: dict) -> LogEvent:
        created = payload["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        known = {key: value for key, value in payload.items() if key in _FIELDS}
        return cls(**{**known, "created_at": created, "insight_ids": list(payload.get("insight_ids") or [])})


_FIELDS = set(LogEvent.__dataclass_fields__)


def read_jsonl(path: Path) -> Iterator[LogEvent]:
    """Events of one active segment; a torn last line (crash mid-write, never acknowledged) is skipped."""
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            try:
                yield LogEvent.from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue


def events_table(events: Iterable[LogEvent]) -> pa.Table:
    rows = [asdict(event) for event in events]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def sealed_glob(log_root: str) -> str:
    return f"{log_root.rstrip('/')}/{SEALED_DIR}/**/*.parquet"


def log_root(data_uri: str) -> str:
    return f"{data_uri.rstrip('/')}/{LOG_DIR}"


class LogReader:
    """DuckDB over the sealed segments. Opens an in-memory database, so it locks no file."""

    def __init__(self, log_root_uri: str) -> None:
        self.root = log_root_uri
        self._db = duckdb.connect(":memory:")

    def has_segments(self) -> bool:
        root = Path(self.root) / SEALED_DIR
        return root.is_dir() and any(root.rglob("*.parquet"))

    def query(self, sql: str, params: list | None = None) -> pa.Table:
        """Run SQL in which `events` names every sealed event, minus users forgotten since."""
        if not self.has_segments():
            return events_table([]).slice(0, 0)
        cursor = self._db.cursor()
        source = f"read_parquet('{sealed_glob(self.root)}', union_by_name = true, hive_partitioning = false)"
        cursor.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW raw_events AS SELECT * FROM {source};
            CREATE OR REPLACE TEMP VIEW events AS
            SELECT e.* FROM raw_events e
            WHERE NOT EXISTS (
                SELECT 1 FROM raw_events f
                WHERE f.type = '{FORGET}' AND f.user_id = e.user_id AND f.created_at >= e.created_at
            ) AND e.type <> '{FORGET}'
            """
        )
        return cursor.sql(sql, params=params or None).to_arrow_table()
