"""Merging the conversation log's small sealed segments, one file per day, dropping what forgotten users left.

The server seals a segment every few seconds, so a busy day leaves thousands of small files, and every read pays
for each one. Compaction and the server's purge of a forgotten user both take the same lock, so neither can undo
the other; readers tolerate the moment when a merged file and its sources are both present (events are unique by
id) or a source has just gone (they retry).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jiwa.convlog import FORGET, SEALED_DIR, conform

COMPACTED_PREFIX = "compacted-"
_LOCK_NAME = ".maintenance.lock"


@contextmanager
def sealed_lock(log_root: Path) -> Iterator[None]:
    """Exclusive across processes: whoever rewrites sealed segments holds it."""
    folder = log_root / SEALED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _LOCK_NAME, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def compact_sealed(log_root: Path, *, min_age_s: float = 300.0) -> dict:
    """Merge each day's segments older than min_age_s into one file; events of forgotten users are left out."""
    stats = {"days": 0, "files_merged": 0, "files_written": 0, "events": 0, "forgotten_events_dropped": 0}
    with sealed_lock(log_root):
        folders = sorted((log_root / SEALED_DIR).glob("dt=*"))
        forgotten = _forgotten_at(folders)
        cutoff = time.time() - min_age_s
        for folder in folders:
            sources = sorted(p for p in folder.glob("*.parquet") if p.stat().st_mtime <= cutoff)
            if len(sources) < 2:
                continue
            table = pa.concat_tables([conform(pq.read_table(path)) for path in sources])
            kept = _without_forgotten(_unique_events(table), forgotten)
            target = folder / f"{COMPACTED_PREFIX}{int(time.time())}-{uuid.uuid4().hex[:8]}.parquet"
            temporary = target.with_suffix(".parquet.tmp")
            pq.write_table(kept, temporary)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            for path in sources:
                path.unlink()
            stats["days"] += 1
            stats["files_merged"] += len(sources)
            stats["files_written"] += 1
            stats["events"] += kept.num_rows
            stats["forgotten_events_dropped"] += table.num_rows - kept.num_rows
    return stats


def _forgotten_at(folders: list[Path]) -> dict[str, object]:
    latest: dict[str, object] = {}
    for folder in folders:
        for path in folder.glob("*.parquet"):
            table = pq.read_table(path, columns=["type", "user_id", "created_at"])
            forgets = table.filter(pc.equal(table.column("type"), FORGET)).to_pylist()
            for row in forgets:
                latest[row["user_id"]] = max(row["created_at"], latest.get(row["user_id"], row["created_at"]))
    return latest


def _unique_events(table: pa.Table) -> pa.Table:
    ids = table.column("event_id").to_pylist()
    seen: set[str] = set()
    mask = [not (event_id in seen or seen.add(event_id)) for event_id in ids]
    return table.filter(pa.array(mask))


def _without_forgotten(table: pa.Table, forgotten: dict[str, object]) -> pa.Table:
    """Forget tombstones stay (readers still need them); everything the user did before their forget goes."""
    if not forgotten:
        return table
    rows = zip(
        table.column("type").to_pylist(),
        table.column("user_id").to_pylist(),
        table.column("created_at").to_pylist(),
        strict=True,
    )
    mask = [kind == FORGET or user not in forgotten or at > forgotten[user] for kind, user, at in rows]
    return table.filter(pa.array(mask))
