"""Compaction of the conversation log: many small segments become one per day, readers see the same events, and
forgotten users' events do not come back."""

import os
import threading
import time
from pathlib import Path

from jiwa.convlog import LogReader, log_root
from jiwa.log_compaction import COMPACTED_PREFIX, compact_sealed, sealed_lock
from tests.support.log import conversation, forget_event, hours_ago, seal


def _age(paths, seconds=3600):
    for path in paths:
        old = time.time() - seconds
        os.utime(path, (old, old))


def test_small_segments_merge_and_readers_see_the_same_events(data_uri):
    root = Path(log_root(data_uri))
    paths = [
        seal(data_uri, conversation(f"c{i}", f"u{i}", ["Hello", "Thanks"], start=hours_ago(5 - i * 0.1)))
        for i in range(6)
    ]
    _age(paths)
    before = LogReader(str(root)).query("SELECT event_id FROM events ORDER BY event_id").column("event_id").to_pylist()
    stats = compact_sealed(root)
    after_files = list((root / "sealed").rglob("*.parquet"))
    assert stats["files_merged"] == 6 and len(after_files) == stats["files_written"] == stats["days"]
    assert all(path.name.startswith(COMPACTED_PREFIX) for path in after_files)
    assert (
        LogReader(str(root)).query("SELECT event_id FROM events ORDER BY event_id").column("event_id").to_pylist()
        == before
    )


def test_a_merged_file_beside_its_sources_does_not_duplicate_events(data_uri):
    root = Path(log_root(data_uri))
    events = conversation("c1", "u1", ["Hello"], start=hours_ago(1))
    seal(data_uri, events)
    seal(data_uri, events)  # the same events twice, as during a merge's last step
    count = LogReader(str(root)).query("SELECT count(*) AS n FROM events").column("n")[0].as_py()
    assert count == len(events)


def test_forgotten_users_events_are_dropped_and_their_tombstone_kept(data_uri):
    root = Path(log_root(data_uri))
    paths = [
        seal(data_uri, conversation("c1", "gone", ["My secret plans"], start=hours_ago(3))),
        seal(data_uri, conversation("c2", "stays", ["Hello"], start=hours_ago(3))),
        seal(data_uri, [forget_event("gone", hours_ago(2))]),
    ]
    _age(paths)
    stats = compact_sealed(root)
    assert stats["forgotten_events_dropped"] == 3
    merged = b"".join(path.read_bytes() for path in (root / "sealed").rglob("*.parquet"))
    assert b"My secret plans" not in merged
    assert LogReader(str(root)).forgotten_users().keys() == {"gone"}


def test_young_segments_wait_and_the_lock_is_shared_with_the_server(data_uri):
    root = Path(log_root(data_uri))
    seal(data_uri, conversation("c1", "u1", ["Hello"], start=hours_ago(1)))
    seal(data_uri, conversation("c2", "u2", ["Hello"], start=hours_ago(1)))
    assert compact_sealed(root)["files_merged"] == 0  # just sealed: left for a later round
    # While the server purges a forgotten user (it holds the lock), compaction waits for it.
    results = []
    with sealed_lock(root):
        worker = threading.Thread(target=lambda: results.append(compact_sealed(root)))
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and results == []
    worker.join(timeout=10)
    assert not worker.is_alive() and len(results) == 1
