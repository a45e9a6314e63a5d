"""The one-time import of a conversation log written by versions before the conversation store.

Those versions kept events in `<data>/conversation_log/`: JSON-lines segments under active/ and Parquet files under
sealed/. Every event that can be read is imported (an event already in the store is left as it is), a `forget`
drops its user's earlier events and becomes a forget of the store, and a file or line that cannot be read is
counted and skipped, never a reason to stop. Then the folder is deleted: the store holds every copy.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from jiwa.conversations.events import FORGET, LogEvent
from jiwa.conversations.repository import ConversationRepository

log = logging.getLogger(__name__)

LEGACY_DIR = "conversation_log"


def import_legacy_log(data_dir: str, repository: ConversationRepository) -> dict:
    stats = {"files": 0, "unreadable_files": 0, "unreadable_lines": 0, "events": 0, "forgotten_events": 0}
    # A folder is claimed by renaming it, so two processes starting at once never import the same one; a claimed
    # folder left by a process that died mid-import is claimed again.
    for folder in [Path(data_dir) / LEGACY_DIR, *sorted(Path(data_dir).glob(f"{LEGACY_DIR}.importing-*"))]:
        claimed = folder.with_name(f"{LEGACY_DIR}.importing-{uuid.uuid4().hex}")
        try:
            folder.rename(claimed)
        except OSError:
            continue  # not there, or another process took it first
        _import(claimed, repository, stats)
        shutil.rmtree(claimed)
    if stats["files"]:
        log.info("legacy conversation log imported: %s", stats)
    return stats


def _import(root: Path, repository: ConversationRepository, stats: dict) -> None:
    read: list[LogEvent] = []
    for path in sorted(root.rglob("*.parquet")):
        stats["files"] += 1
        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # an empty or torn file: whatever pyarrow says, it is skipped, never fatal
            log.warning("legacy log: %s is unreadable (%s); skipped", path.name, type(exc).__name__)
            stats["unreadable_files"] += 1
            continue
        for row in rows:
            _add(read, row, stats)
    for path in sorted(root.rglob("*.jsonl")):
        stats["files"] += 1
        for line in path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                _add(read, json.loads(line.decode("utf-8")), stats, strict=True)
            except (ValueError, TypeError, KeyError, AttributeError):
                stats["unreadable_lines"] += 1
    forgotten: dict[tuple[str, str], datetime] = {}
    for event in read:
        if event.type == FORGET:
            user = (event.tenant, event.user_id)
            forgotten[user] = max(event.created_at, forgotten.get(user, event.created_at))
    kept = [
        e
        for e in read
        if e.type != FORGET
        and not ((e.tenant, e.user_id) in forgotten and e.created_at <= forgotten[(e.tenant, e.user_id)])
    ]
    stats["forgotten_events"] += len(read) - len(kept) - sum(1 for e in read if e.type == FORGET)
    # Forgets first: a user who came back after one keeps what they wrote since.
    for (tenant, user_id), at in forgotten.items():
        repository.forget(tenant, user_id, at)
    for start in range(0, len(kept), 5000):
        repository.append(sorted(kept[start : start + 5000], key=lambda e: e.created_at))
    stats["events"] += len(kept)


def _add(read: list[LogEvent], row: dict, stats: dict, strict: bool = False) -> None:
    try:
        event = LogEvent.from_dict(row)
        if not isinstance(event.created_at.year, int) or not event.event_id or not event.user_id:
            raise ValueError("incomplete event")
    except (ValueError, TypeError, KeyError, AttributeError):
        if strict:
            raise
        stats["unreadable_lines"] += 1
        return
    read.append(event)
