"""The one module that reads and writes conversations: SQLite by default, PostgreSQL by URL, one schema for both.

SQLite runs in WAL mode with synchronous commits, so an acknowledged turn survives a crash or a power loss, and
several processes on one host share the file; `secure_delete` overwrites what a forget deletes. Every write is one
transaction. Users are (tenant, user_id) in every query.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite

from jiwa.conversations.events import CORRECTION, TURN, LogEvent
from jiwa.conversations.schema import conversations, events, forgets, users

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIGRATIONS = Path(__file__).parent / "migrations"
_EVENT_FIELDS = [c.name for c in events.columns if c.name not in ("created_us",)]


def to_us(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class StoreDamaged(RuntimeError):
    """The conversation store cannot be used as it is; the message names it and says what to do."""


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    database = sa.engine.make_url(url).database
    return Path(database) if database and database != ":memory:" else None


class ConversationRepository:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            database = sa.engine.make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        self.dialect = self.engine.dialect.name
        # Built once: every turn's commit runs all three.
        dialect = sqlite if self.dialect == "sqlite" else postgresql
        self._inserts = {
            table.name: dialect.insert(table).on_conflict_do_nothing() for table in (users, conversations, events)
        }
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)

    @classmethod
    def open(cls, url: str, *, allow_empty: bool = False) -> ConversationRepository:
        """Connect and bring the schema to the latest migration. A SQLite file that shrank to nothing, or that is
        not a database, is refused with StoreDamaged: which file, and what to do."""
        path = _sqlite_path(url)
        if path is not None and path.is_file() and path.stat().st_size == 0 and not allow_empty:
            raise StoreDamaged(
                f"The conversation store {path} exists but is empty (0 bytes): it was truncated or replaced, and the "
                "conversations it held are gone. Restore it from a backup, or start afresh on purpose with "
                "JIWA_CONVERSATIONS_ALLOW_EMPTY=true."
            )
        repository = cls(url)
        try:
            repository.migrate()
        except sa.exc.DatabaseError as exc:
            repository.close()
            if path is None:
                raise
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise StoreDamaged(
                f"The conversation store {path} cannot be read ({reason}): it is damaged. Restore it from a backup "
                "(with the server stopped), or move it aside to start an empty store."
            ) from None
        return repository

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        for attempt in range(1, 6):
            try:
                with self.engine.connect().execution_options(write=True) as connection:
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    connection.commit()
                return
            except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError):
                # Another process migrated at the same moment; its schema is the one we want.
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)

    def close(self) -> None:
        self.engine.dispose()

    # Writes -------------------------------------------------------------------------------------------------------

    def append(self, batch: list[LogEvent]) -> None:
        """One transaction: the events, and the users and conversations they start. An event from before its user
        was forgotten (stamped before a forget that committed first) is dropped, never stored."""
        if not batch:
            return
        with self._write() as connection:
            batch = self._after_forgets(connection, batch)
            if not batch:
                return
            seen_users = {(e.tenant, e.user_id): to_us(e.created_at) for e in batch if e.type == TURN}
            if seen_users:
                connection.execute(
                    self._insert_ignore(users),
                    [{"tenant": t, "user_id": u, "first_seen_us": at} for (t, u), at in seen_users.items()],
                )
            started = {(e.tenant, e.conversation_id): e for e in batch if e.type == TURN and e.conversation_id}
            if started:
                connection.execute(
                    self._insert_ignore(conversations),
                    [
                        {"tenant": t, "conversation_id": c, "user_id": e.user_id, "started_us": to_us(e.created_at)}
                        for (t, c), e in started.items()
                    ],
                )
            connection.execute(self._insert_ignore(events), [event_row(e) for e in batch])

    @staticmethod
    def _after_forgets(connection: sa.Connection, batch: list[LogEvent]) -> list[LogEvent]:
        pairs = list({(e.tenant, e.user_id) for e in batch})
        forgotten = {
            (row.tenant, row.user_id): row.forgotten_us
            for row in connection.execute(_FORGOTTEN_AMONG, {"pairs": pairs})
        }
        if not forgotten:
            return batch
        return [e for e in batch if to_us(_stamp(e)) > forgotten.get((e.tenant, e.user_id), -1)]

    def forget(self, tenant: str, user_id: str, at: datetime) -> int:
        """Everything the user wrote goes in one transaction; the tombstone keeps only their id and the time."""
        user = (users.c.tenant == tenant) & (users.c.user_id == user_id)
        with self._write() as connection:
            removed = connection.execute(
                events.delete().where((events.c.tenant == tenant) & (events.c.user_id == user_id))
            ).rowcount
            connection.execute(
                conversations.delete().where((conversations.c.tenant == tenant) & (conversations.c.user_id == user_id))
            )
            connection.execute(users.delete().where(user))
            connection.execute(forgets.delete().where((forgets.c.tenant == tenant) & (forgets.c.user_id == user_id)))
            connection.execute(forgets.insert().values(tenant=tenant, user_id=user_id, forgotten_us=to_us(at)))
        return removed

    def erase_deleted(self) -> dict:
        """Physical erasure of deleted rows: SQLite's WAL checkpointed into the file; PostgreSQL vacuumed."""
        started = time.perf_counter()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if self.dialect == "sqlite":
                # secure_delete has already zeroed the rows in the pages the deletes wrote; the checkpoint copies
                # those pages over the old ones in the file and empties the write-ahead log. No VACUUM, which would
                # hold the write lock for as long as it rewrites the whole file.
                _checkpoint(connection)
            else:
                for table in ("events", "conversations", "users"):
                    connection.exec_driver_sql(f"VACUUM {table}")
        return {"engine": self.dialect, "seconds": round(time.perf_counter() - started, 3)}

    # Reads --------------------------------------------------------------------------------------------------------

    def user_exists(self, tenant: str, user_id: str) -> bool:
        query = sa.select(users.c.user_id).where((users.c.tenant == tenant) & (users.c.user_id == user_id))
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def conversation_user(self, tenant: str, conversation_id: str) -> str | None:
        query = sa.select(conversations.c.user_id).where(
            (conversations.c.tenant == tenant) & (conversations.c.conversation_id == conversation_id)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def conversation_events(self, tenant: str, conversation_id: str) -> list[LogEvent]:
        query = (
            sa.select(events)
            .where((events.c.tenant == tenant) & (events.c.conversation_id == conversation_id))
            .order_by(events.c.created_us, events.c.event_id)
        )
        with self.engine.connect() as connection:
            return [event_of(row) for row in connection.execute(query).mappings()]

    def turn(self, tenant: str, message_id: str) -> LogEvent | None:
        query = sa.select(events).where(
            (events.c.tenant == tenant) & (events.c.message_id == message_id) & (events.c.type == TURN)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return event_of(row) if row else None

    def forgotten_since(self, since: datetime | None) -> list[tuple[str, str, datetime]]:
        query = sa.select(forgets)
        if since is not None:
            query = query.where(forgets.c.forgotten_us > to_us(since))
        with self.engine.connect() as connection:
            return [(r.tenant, r.user_id, from_us(r.forgotten_us)) for r in connection.execute(query)]

    def corrections_since(self, since: datetime | None) -> list[LogEvent]:
        query = sa.select(events).where(events.c.type == CORRECTION).order_by(events.c.created_us, events.c.event_id)
        if since is not None:
            query = query.where(events.c.created_us > to_us(since))
        with self.engine.connect() as connection:
            return [event_of(row) for row in connection.execute(query).mappings()]

    def summary(self) -> dict:
        query = sa.select(sa.func.count(), sa.func.max(events.c.created_us))
        with self.engine.connect() as connection:
            count, newest = connection.execute(query).one()
        return {"events": count, "newest": from_us(newest) if newest is not None else None}

    # --------------------------------------------------------------------------------------------------------------

    def _write(self):
        return _WriteTransaction(self.engine)

    def _insert_ignore(self, table: sa.Table):
        """An insert that leaves existing keys alone: the same event, user or conversation written twice is one."""
        return self._inserts[table.name]


def _checkpoint(connection: sa.Connection) -> None:
    """Copy the write-ahead log into the file and truncate it; a reader that holds it busy is waited for."""
    for attempt in range(1, 21):
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        if not busy:
            return
        time.sleep(0.1 * attempt)
    raise RuntimeError("the SQLite write-ahead log stayed busy; deleted rows are not yet erased, run compaction again")


# One statement whatever the number of users in a batch, so SQLAlchemy compiles it once.
_FORGOTTEN_AMONG = sa.select(forgets).where(
    sa.tuple_(forgets.c.tenant, forgets.c.user_id).in_(sa.bindparam("pairs", expanding=True))
)


class _WriteTransaction:
    """A connection in a write transaction (BEGIN IMMEDIATE on SQLite, so two writers queue instead of failing)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def __enter__(self) -> sa.Connection:
        self._connection = self._engine.connect().execution_options(write=True)
        self._transaction = self._connection.begin()
        return self._connection

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self._connection.close()


def _sqlite_pragmas(connection, _record) -> None:
    # The driver's own transaction handling is off: _sqlite_begin says BEGIN, the way each transaction needs.
    connection.isolation_level = None
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write") else "BEGIN")


def _stamp(event: LogEvent) -> datetime:
    """The moment a forget must come after for this event to be kept: a reply counts from its question."""
    return min(event.created_at, event.answers_from) if event.answers_from else event.created_at


def event_row(event: LogEvent) -> dict:
    row = {name: getattr(event, name) for name in _EVENT_FIELDS}
    row["created_us"] = to_us(event.created_at)
    row["insight_ids"] = json.dumps(list(event.insight_ids)) if event.insight_ids else None
    return row


def event_of(row) -> LogEvent:
    values = {name: row[name] for name in _EVENT_FIELDS}
    values["insight_ids"] = json.loads(row["insight_ids"]) if row["insight_ids"] else []
    return LogEvent(created_at=from_us(row["created_us"]), **values)
