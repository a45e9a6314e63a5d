"""Compaction of a knowledge table: tags keep versions restorable within the retention, not for ever."""

import time
from datetime import timedelta

import lancedb
import pyarrow as pa

from jiwa.store.lance import compact, tag_version


def _table(tmp_path):
    table = lancedb.connect(str(tmp_path)).create_table("knowledge", pa.table({"id": ["a"]}))
    tag_version(table, "first")
    table.add(pa.table({"id": ["b"]}))
    tag_version(table, "second")
    return table


def test_a_tag_within_the_retention_keeps_its_version(tmp_path):
    table = _table(tmp_path)
    compact(table, keep_versions_for=timedelta(hours=168))
    assert set(table.tags.list()) == {"first", "second"}
    table.checkout("first")
    assert table.count_rows() == 1


def test_a_tag_past_the_retention_no_longer_pins_its_version(tmp_path):
    table = _table(tmp_path)
    time.sleep(0.05)
    stats = compact(table, keep_versions_for=timedelta(seconds=0.01))
    assert set(table.tags.list()) == {"second"}  # the latest version keeps its tag
    assert stats["versions_removed"] >= 1
    assert [entry["version"] for entry in table.list_versions()][0] > 1


def test_user_data_tables_keep_no_tag_and_no_old_version(tmp_path):
    table = _table(tmp_path)
    compact(table, keep_versions_for=None)
    assert table.tags.list() == {} and len(table.list_versions()) == 1


def test_nightly_rows_an_older_version_wrote_into_the_knowledge_base_leave_the_disk(tmp_path):
    from pathlib import Path

    from jiwa.conversations import sqlite_url
    from jiwa.store.compaction import compact_stores
    from tests.support.insights import insights_table

    insights_table(str(tmp_path), ("curated", "llama_nightly"), insight=lambda source: f"canaryword-{source}")
    stats = compact_stores(str(tmp_path), sqlite_url(str(tmp_path)), retention_hours=168)
    assert stats["legacy_nightly_rows_removed"] == 1
    remaining = lancedb.connect(str(tmp_path)).open_table("cultural_insights").to_arrow().column("id").to_pylist()
    assert remaining == ["curated"]
    files = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert not [p for p in files if b"canaryword-llama_nightly" in p.read_bytes()]
    assert [p for p in files if b"canaryword-curated" in p.read_bytes()]
