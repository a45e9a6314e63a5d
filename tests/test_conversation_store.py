"""The conversation store on SQLite and on a real PostgreSQL server alike: tenants are separate people, a forget
is one transaction, the pipeline reads typed Arrow, and on SQLite a forget leaves no byte in the file."""

import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
import sqlalchemy as sa

from jiwa.conversations import sqlite_url
from jiwa.conversations.events import FEEDBACK, LogEvent, events_table
from jiwa.conversations.legacy_log import import_legacy_log
from jiwa.conversations.reader import EventReader
from jiwa.conversations.repository import ConversationRepository
from tests.support.log import conversation, forget_event

START = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.fixture()
def repository(store_url):
    repository = ConversationRepository.open(store_url)
    yield repository
    repository.close()


def test_the_same_user_id_under_two_tenants_is_two_people(repository):
    repository.append(conversation("c_acme", "ana", ["Ciao"], start=START, tenant="acme"))
    repository.append(conversation("c_globex", "ana", ["Halo"], start=START, tenant="globex"))
    assert repository.user_exists("acme", "ana") and repository.user_exists("globex", "ana")
    assert repository.conversation_user("acme", "c_globex") is None  # another tenant's conversation: not there
    assert [e.content for e in repository.conversation_events("acme", "c_acme") if e.role == "user"] == ["Ciao"]
    message = next(e for e in repository.conversation_events("globex", "c_globex") if e.role == "assistant")
    assert repository.turn("acme", message.message_id) is None and repository.turn("globex", message.message_id)

    assert repository.forget("globex", "ana", START + timedelta(hours=1)) == 3
    assert repository.user_exists("acme", "ana") and not repository.user_exists("globex", "ana")
    assert len(repository.conversation_events("acme", "c_acme")) == 3
    assert [(t, u) for t, u, _ in repository.forgotten_since(None)] == [("globex", "ana")]


def test_writing_the_same_event_twice_stores_it_once_and_keeps_every_field(repository):
    events = conversation("c1", "ana", ["Ciao"], start=START)
    reply = events[1]
    reply.insight_ids, reply.cache_intent, reply.input_tokens = ["kitas-1", "malu-2"], "kitas_cost", 42
    repository.append(events)
    repository.append(events)
    stored = repository.conversation_events("acme", "c1")
    assert len(stored) == 3 and stored[1] == reply


def test_the_pipeline_reads_a_window_as_typed_arrow_without_forgotten_users(store_url, repository):
    repository.append(conversation("old", "ana", ["vecchio"], start=START - timedelta(days=30)))
    repository.append(conversation("new", "ana", ["nuovo"], start=START))
    repository.append(conversation("gone", "ben", ["bye"], start=START))
    repository.forget("acme", "ben", START + timedelta(minutes=5))
    reader = EventReader(store_url)
    window = reader.query("SELECT * FROM events ORDER BY created_at", since=START - timedelta(days=1))
    assert set(window.column("conversation_id").to_pylist()) == {"new"}
    created = window.schema.field("created_at").type
    assert pa.types.is_timestamp(created) and created.unit == "us" and created.tz in ("UTC", "Etc/UTC")
    assert window.schema.field("insight_ids").type == pa.list_(pa.string())
    assert reader.query("SELECT count(*) AS n FROM events").column("n")[0].as_py() == 6
    assert reader.forgotten_users() == {("acme", "ben"): START + timedelta(minutes=5)}


def test_migrations_run_once_however_many_processes_open_the_store(store_url):
    first, second = ConversationRepository.open(store_url), ConversationRepository.open(store_url)
    with first.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0001"
    first.close()
    second.close()


def test_on_sqlite_a_forgotten_user_leaves_no_byte_in_the_files(tmp_path):
    url = sqlite_url(str(tmp_path))
    repository = ConversationRepository.open(url)
    repository.append(conversation("c1", "ana", ["Mi chiamo Zebrina e ho paura"], start=START))
    repository.append(conversation("c2", "ben", ["Halo"], start=START))
    files = lambda: [p for p in tmp_path.iterdir() if p.is_file()]  # noqa: E731
    assert any(b"Zebrina" in p.read_bytes() for p in files())
    repository.forget("acme", "ana", START + timedelta(hours=1))
    repository.erase_deleted()
    assert not [p.name for p in files() if b"Zebrina" in p.read_bytes()]
    assert any(b"Halo" in p.read_bytes() for p in files())
    repository.close()


def test_a_legacy_log_is_imported_once_and_unreadable_files_are_skipped(tmp_path):
    import pyarrow.parquet as pq

    data = tmp_path / "stores"
    sealed = data / "conversation_log" / "sealed" / "dt=2026-11-20"
    active = data / "conversation_log" / "active"
    sealed.mkdir(parents=True)
    active.mkdir(parents=True)
    kept = conversation("c_kept", "ana", ["Ciao"], start=START)
    gone = conversation("c_gone", "ben", ["Halo"], start=START)
    pq.write_table(events_table(kept + gone), sealed / "seg-1.parquet")
    (sealed / "empty.parquet").write_bytes(b"")
    feedback = LogEvent(f"evt_{uuid.uuid4().hex}", FEEDBACK, START + timedelta(minutes=1), "acme", "ana", "c_kept")
    forget = forget_event("ben", START + timedelta(minutes=2))
    lines = [
        _json(feedback),
        _json(forget),
        b'{"event_id": "x", "type": "turn", "created_at": null, "tenant": "acme", "user_id": "z"}',
        b"\xff\xfe not utf-8",
        _json(conversation("c_torn", "cai", ["x"], start=START)[0])[:-10],
    ]
    (active / "w-1.jsonl").write_bytes(b"\n".join(lines))

    repository = ConversationRepository.open(sqlite_url(str(data)))
    stats = import_legacy_log(str(data), repository)
    assert stats["unreadable_files"] == 1 and stats["unreadable_lines"] == 3
    assert stats["events"] == len(kept) + 1 and stats["forgotten_events"] == len(gone)
    assert len(repository.conversation_events("acme", "c_kept")) == len(kept) + 1
    assert repository.conversation_events("acme", "c_gone") == []
    assert not (data / "conversation_log").exists()
    assert import_legacy_log(str(data), repository)["events"] == 0  # once
    repository.close()


def _json(event: LogEvent) -> bytes:
    import json
    from dataclasses import asdict

    payload = asdict(event)
    payload["created_at"] = event.created_at.isoformat()
    return json.dumps(payload).encode()


def test_the_schema_keys_and_indexes_lead_with_the_tenant(repository):
    inspector = sa.inspect(repository.engine)
    for table in ("events", "conversations", "users", "forgets"):
        assert inspector.get_pk_constraint(table)["constrained_columns"][0] == "tenant"
    indexes = {index["name"]: index["column_names"] for index in inspector.get_indexes("events")}
    assert indexes["events_by_conversation"][0] == indexes["events_by_message"][0] == "tenant"


def test_the_maintenance_erase_runs_on_either_engine(repository):
    repository.append(conversation("c1", "ana", ["Ciao"], start=START))
    repository.forget("acme", "ana", START + timedelta(hours=1))
    assert repository.erase_deleted()["engine"] == repository.dialect
    assert repository.summary()["events"] == 0


async def test_a_cancelled_committer_leaves_no_other_writer_waiting(tmp_path):
    import asyncio

    from jiwa.conversations.group_commit import GroupCommit

    class SlowStore:
        def __init__(self) -> None:
            self.stored: list[str] = []

        def append(self, batch):
            import time

            time.sleep(0.2)
            self.stored += [e.event_id for e in batch]

    store = SlowStore()
    commits = GroupCommit(store)
    first = asyncio.create_task(commits.append(conversation("c1", "ana", ["a"], start=START)))
    await asyncio.sleep(0.05)  # first leads a commit; the next two wait for the one after it
    second = asyncio.create_task(commits.append(conversation("c2", "ben", ["b"], start=START)))
    third = asyncio.create_task(commits.append(conversation("c3", "cai", ["c"], start=START)))
    await asyncio.sleep(0.3)  # second now leads the next commit
    second.cancel()
    await asyncio.wait_for(asyncio.gather(first, third), timeout=2)
    assert len(store.stored) == 9  # the cancelled caller's events were committed with the rest


def test_one_bad_event_fails_only_its_own_caller(store_url):
    import asyncio

    from jiwa.conversations.group_commit import GroupCommit

    repository = ConversationRepository.open(store_url)
    commits = GroupCommit(repository)
    good = conversation("c_good", "ana", ["Ciao"], start=START)
    bad = conversation("c_bad", "ben", ["Halo"], start=START)
    bad[0].event_id = None  # refused by every engine: the primary key cannot be null

    async def both():
        return await asyncio.gather(commits.append(good), commits.append(bad), return_exceptions=True)

    results = asyncio.run(both())
    assert results[0] is None and isinstance(results[1], Exception)
    assert len(repository.conversation_events("acme", "c_good")) == 3
    repository.close()


def test_a_turn_stamped_before_a_forget_but_committed_after_is_never_stored(repository):
    late = conversation("c1", "ana", ["scritto prima"], start=START)
    repository.append(conversation("c0", "ana", ["Ciao"], start=START - timedelta(minutes=1)))
    repository.forget("acme", "ana", START + timedelta(minutes=1))
    repository.append(late)  # a reply that was being written while the forget committed
    assert repository.conversation_events("acme", "c1") == [] and not repository.user_exists("acme", "ana")
    later = conversation("c2", "ana", ["sono tornata"], start=START + timedelta(hours=1))
    repository.append(later)  # she came back afterwards: that is kept
    assert len(repository.conversation_events("acme", "c2")) == 3


def test_a_batch_of_several_users_drops_only_the_forgotten_ones_late_turns(repository):
    """The group commit writes several users' turns in one transaction: the forget check is per (tenant, user)."""
    repository.forget("acme", "ana", START + timedelta(minutes=1))
    batch = (
        conversation("late", "ana", ["scritto prima"], start=START)
        + conversation("other-tenant", "ana", ["halo"], start=START, tenant="globex")
        + conversation("same-tenant", "bob", ["hello"], start=START)
    )
    repository.append(batch)
    assert repository.conversation_events("acme", "late") == []
    assert len(repository.conversation_events("globex", "other-tenant")) == 3
    assert len(repository.conversation_events("acme", "same-tenant")) == 3


def test_a_legacy_forget_applies_to_its_own_tenant_only(tmp_path):
    import pyarrow.parquet as pq

    data = tmp_path / "stores"
    sealed = data / "conversation_log" / "sealed" / "dt=2026-11-20"
    sealed.mkdir(parents=True)
    events = conversation("c_acme", "u1", ["acme's"], start=START, tenant="acme")
    events += conversation("c_globex", "u1", ["globex's"], start=START, tenant="globex")
    events.append(forget_event("u1", START + timedelta(hours=1), tenant="acme"))
    pq.write_table(events_table(events), sealed / "seg.parquet")
    repository = ConversationRepository.open(sqlite_url(str(data)))
    import_legacy_log(str(data), repository)
    assert repository.conversation_events("acme", "c_acme") == []
    assert len(repository.conversation_events("globex", "c_globex")) == 3
    repository.close()
