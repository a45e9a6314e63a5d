"""The pipeline's view of the conversation store: a time window read into Arrow, queried with DuckDB.

`query(sql, params, since=...)` runs SQL in which `events` names every event from `since` on (all when None),
less those of users forgotten since, and `forgets` names the forgets. PostgreSQL is read through its ADBC driver,
which returns typed Arrow; SQLite through the standard library, with the schema's types (SQLite's ADBC driver
guesses a column's type from its first rows, and a conversation's first rows are often NULL in many columns).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from jiwa.conversations.events import CORRECTION, END, EVENT_SCHEMA, TURN, LogEvent
from jiwa.conversations.repository import event_of, to_us
from jiwa.conversations.schema import events as events_table
from jiwa.conversations.schema import forgets as forgets_table


def _arrow_type(column: sa.Column) -> pa.DataType:
    if isinstance(column.type, sa.BigInteger):
        return pa.int64()
    if isinstance(column.type, sa.Integer):
        return pa.int32()
    return pa.string()


def _raw_schema(table: sa.Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in table.columns])


_EVENTS_RAW = _raw_schema(events_table)
_FORGETS_RAW = _raw_schema(forgets_table)


class EventReader:
    def __init__(self, url: str) -> None:
        self.url = sa.engine.make_url(url)
        self._db = duckdb.connect(":memory:")

    def query(self, sql: str, params: list | dict | None = None, *, since: datetime | None = None) -> pa.Table:
        cursor = self._db.cursor()
        cursor.register("raw_events", self._events(since))
        cursor.register("raw_forgets", self._forgets())
        cursor.execute(
            """
            CREATE OR REPLACE TEMP VIEW forgets AS
            SELECT tenant, user_id, forgotten_at FROM raw_forgets;
            CREATE OR REPLACE TEMP VIEW events AS
            SELECT e.* FROM raw_events e LEFT JOIN forgets f ON f.tenant = e.tenant AND f.user_id = e.user_id
            WHERE f.forgotten_at IS NULL OR e.created_at > f.forgotten_at
            """
        )
        return cursor.sql(sql, params=params or None).to_arrow_table()

    def conversation_events(
        self, conversation_ids: list[str], *, since: datetime | None = None
    ) -> dict[str, list[dict]]:
        """Turn and end events of these conversations, grouped by conversation; with `since`, only from then on."""
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
        from scan_from on are read, so a caller scanning a recent window stays cheap however long the store grows.
        """
        rows = self.query(
            f"""
            SELECT conversation_id, any_value(tenant) AS tenant, any_value(user_id) AS user_id,
                   max(created_at) AS last_event_at,
                   max(created_at) FILTER (WHERE type = '{TURN}') AS last_turn_at,
                   arg_max(type, created_at) = '{END}' AS ended
            FROM events
            WHERE conversation_id IS NOT NULL AND type IN ('{TURN}', '{END}')
            GROUP BY conversation_id
            """,
            since=scan_from,
        ).to_pylist()
        ready = []
        for row in rows:
            ready_at = row["last_event_at"] if row["ended"] else row["last_event_at"] + timedelta(seconds=idle_s)
            if after < ready_at <= until:
                ready.append({**row, "ready_at": ready_at})
        return sorted(ready, key=lambda row: (row["ready_at"], row["conversation_id"]))

    def corrections(self) -> list[LogEvent]:
        """Every memory correction of users not forgotten since. Read by type, not by time window: corrections are
        few, and each one stands until the user overrules it, however old."""
        forgotten = self.forgotten_users()
        events = [
            event_of(row)
            for row in self._fetch(f"SELECT * FROM events WHERE type = '{CORRECTION}'", [], _EVENTS_RAW).to_pylist()
        ]
        return [e for e in events if e.created_at > forgotten.get((e.tenant, e.user_id), e.created_at - timedelta(1))]

    def forgotten_users(self) -> dict[tuple[str, str], datetime]:
        """When each (tenant, user_id) was last forgotten."""
        rows = self._forgets().to_pylist()
        return {(row["tenant"], row["user_id"]): row["forgotten_at"] for row in rows}

    def _events(self, since: datetime | None) -> pa.Table:
        where, params = ("WHERE created_us >= ?", [to_us(since)]) if since is not None else ("", [])
        raw = self._fetch(f"SELECT * FROM events {where}", params, _EVENTS_RAW)
        created = pc.cast(raw.column("created_us"), pa.timestamp("us", tz="UTC"))
        insight_ids = pa.array(
            [json.loads(value) if value else [] for value in raw.column("insight_ids").to_pylist()],
            pa.list_(pa.string()),
        )
        columns = {
            name: created if name == "created_at" else insight_ids if name == "insight_ids" else raw.column(name)
            for name in EVENT_SCHEMA.names
        }
        return pa.Table.from_pydict(columns).cast(EVENT_SCHEMA)

    def _forgets(self) -> pa.Table:
        raw = self._fetch("SELECT * FROM forgets", [], _FORGETS_RAW)
        return pa.table(
            {
                "tenant": raw.column("tenant"),
                "user_id": raw.column("user_id"),
                "forgotten_at": pc.cast(raw.column("forgotten_us"), pa.timestamp("us", tz="UTC")),
            }
        )

    def _fetch(self, sql: str, params: list, schema: pa.Schema) -> pa.Table:
        if self.url.get_backend_name() == "sqlite":
            database = self.url.database
            if database is None:
                raise ValueError(f"The conversation store {self.url} names no SQLite file for the pipeline to read")
            if not Path(database).exists():
                return schema.empty_table()
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                rows = connection.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    rows = []
                else:
                    raise
            finally:
                connection.close()
            return pa.table([pa.array([row[i] for row in rows], f.type) for i, f in enumerate(schema)], schema=schema)
        import adbc_driver_postgresql.dbapi

        with adbc_driver_postgresql.dbapi.connect(_libpq_uri(self.url)) as connection, connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "$1"), params or None)
            return cursor.fetch_arrow_table().cast(schema)


def _libpq_uri(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
