"""The conversation log: events the server appends, in segment files the pipeline reads without locks.

The server appends each event to an active JSON-lines segment it alone writes, fsyncs before acknowledging, and
every so often seals the segment into an immutable Parquet file. The pipeline and the server read sealed segments
with DuckDB; no process ever holds open a file another process writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
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
        pa.field("cache_answer", pa.string()),  # the cached answer variant served (its id in the cache table)
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
    cache_answer: str | None = None
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
            created = created.replace(tzinfo=UTC)
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


def conform(table: pa.Table) -> pa.Table:
    """A sealed segment in today's event schema: columns added since it was written are null."""
    missing = [f for f in EVENT_SCHEMA if f.name not in table.column_names]
    for missing_field in missing:
        table = table.append_column(missing_field.name, pa.nulls(table.num_rows, missing_field.type))
    return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def log_root(data_uri: str) -> str:
    return f"{data_uri.rstrip('/')}/{LOG_DIR}"


class LogReader:
    """DuckDB over the sealed segments. Opens an in-memory database, so it locks no file."""

    def __init__(self, log_root_uri: str) -> None:
        self.root = log_root_uri
        self._db = duckdb.connect(":memory:")

    def query(self, sql: str, params: list | None = None, *, since: datetime | None = None) -> pa.Table:
        """Run SQL in which `events` names every sealed event, minus users forgotten since, and `forgets` the forgets.

        With `since`, segments whose folder (the day of their first event) is more than a day older are skipped: a
        segment holds at most a few minutes of events, so none of them can be newer than `since`.
        """
        try:
            return self._run(self._segment_files(since), sql, params)
        except duckdb.IOException:
            # Compaction replaced a segment between listing and reading it: list again, once.
            return self._run(self._segment_files(since), sql, params)

    def _run(self, files: list[str], sql: str, params: list | None) -> pa.Table:
        if not files:
            return events_table([]).slice(0, 0)
        cursor = self._db.cursor()
        # Unioned with every read, so a column added since older segments were sealed is still there, as null.
        cursor.register("event_columns", events_table([]))
        listed = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
        source = f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        # Deduplicated by event id: for a moment a merged segment and its sources can both be listed.
        cursor.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW raw_events AS
            SELECT * FROM (SELECT * FROM event_columns UNION ALL BY NAME SELECT * FROM {source})
            QUALIFY row_number() OVER (PARTITION BY event_id) = 1;
            CREATE OR REPLACE TEMP VIEW forgets AS
            SELECT user_id, max(created_at) AS forgotten_at FROM raw_events WHERE type = '{FORGET}' GROUP BY user_id;
            CREATE OR REPLACE TEMP VIEW events AS
            SELECT e.* FROM raw_events e LEFT JOIN forgets f ON f.user_id = e.user_id
            WHERE (f.forgotten_at IS NULL OR e.created_at > f.forgotten_at) AND e.type <> '{FORGET}'
            """
        )
        return cursor.sql(sql, params=params or None).to_arrow_table()

    def conversation_events(
        self, conversation_ids: list[str], *, since: datetime | None = None
    ) -> dict[str, list[dict]]:
        """Turn and end events of these conversations, grouped by conversation; with `since`, only segments from then on."""
        if not conversation_ids:
            return {}
        rows = self.query(
            f"SELECT * FROM events WHERE type IN ('{TURN}', '{END}') AND conversation_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(conversation_ids)],
            since=since,
        ).to_pylist()
        grouped: dict[str, list[dict]] = {}
        for row in rows:
            grouped.setdefault(row["conversation_id"], []).append(row)
        return grouped

    def ready_conversations(
        self, *, after: datetime, until: datetime, idle_s: float, scan_from: datetime | None = None
    ) -> list[dict]:
        """Conversations that finished in (after, until]: ended explicitly, or silent for idle_s since their last turn.

        A conversation is ready at its last event if that is an end, else idle_s after its last event. Only events
        from scan_from on are read, so a caller scanning a recent window stays cheap however long the log grows.
        """
        rows = self.query(
            f"""
            SELECT conversation_id, any_value(tenant) AS tenant, any_value(user_id) AS user_id,
                   max(created_at) AS last_event_at,
                   max(created_at) FILTER (WHERE type = '{TURN}') AS last_turn_at,
                   arg_max(type, created_at) = '{END}' AS ended
            FROM events
            WHERE conversation_id IS NOT NULL AND type IN ('{TURN}', '{END}') AND created_at >= ?
            GROUP BY conversation_id
            """,
            [scan_from or datetime(1970, 1, 1, tzinfo=UTC)],
            since=scan_from,
        ).to_pylist()
        ready = []
        for row in rows:
            ready_at = row["last_event_at"] if row["ended"] else row["last_event_at"] + timedelta(seconds=idle_s)
            if after < ready_at <= until:
                ready.append({**row, "ready_at": ready_at})
        return sorted(ready, key=lambda row: (row["ready_at"], row["conversation_id"]))

    def forgotten_users(self) -> dict[str, datetime]:
        return {row["user_id"]: row["forgotten_at"] for row in self.query("SELECT * FROM forgets").to_pylist()}

    def _segment_files(self, since: datetime | None) -> list[str]:
        root = Path(self.root) / SEALED_DIR
        if not root.is_dir():
            return []
        first_day = (since - timedelta(days=1)).astimezone(UTC).strftime("%Y-%m-%d") if since else ""
        return sorted(
            str(path)
            for folder in root.glob("dt=*")
            if folder.name[3:] >= first_day
            for path in folder.glob("*.parquet")
        )
