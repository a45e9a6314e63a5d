"""The server's side of the conversation log: durable appends with group commit, and sealing into Parquet."""

import asyncio
import fcntl
import logging
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from jiwa.convlog import ACTIVE_DIR, SEALED_DIR, LogEvent, events_table, read_jsonl
from jiwa.log_compaction import sealed_lock

log = logging.getLogger(__name__)


class LogWriter:
    """Appends events to an active JSON-lines segment this process alone writes; fsync before acknowledging.

    Concurrent appends share one write and one fsync (group commit). Every `seal_after_s` the segment becomes an
    immutable Parquet file under sealed/dt=YYYY-MM-DD/, which the pipeline reads.
    """

    def __init__(self, log_root: Path, *, spool_dir: Path | None = None, seal_after_s: float = 30.0) -> None:
        self.log_root = log_root
        self.spool_dir = spool_dir or log_root / ACTIVE_DIR
        self.seal_after_s = seal_after_s
        self.writer_id = f"{socket.gethostname()}-{os.getpid()}-{int(time.time() * 1000)}"
        self.active_events: list[LogEvent] = []
        self._sequence = 0
        self._handle = None
        self._opened_at = 0.0
        self._pending: list[tuple[list[LogEvent], asyncio.Future]] = []
        self._lock = asyncio.Lock()

    @property
    def _active_path(self) -> Path:
        return self.spool_dir / f"{self.writer_id}-{self._sequence:06d}.jsonl"

    async def start(self) -> int:
        """Seal segments left behind by writers that died; returns how many events they held."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        recovered = await asyncio.to_thread(self._recover_orphans)
        self._open_segment()
        return recovered

    async def append(self, events: list[LogEvent]) -> None:
        """Returns once the events are on disk; raises if they could not be written."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        async with self._lock:
            if not future.done():
                batch, self._pending = self._pending, []
                flat = [event for group, _ in batch for event in group]
                try:
                    await asyncio.to_thread(self._write, flat)
                except Exception as exc:
                    for _, waiting in batch:
                        waiting.set_exception(exc)
                else:
                    self.active_events.extend(flat)
                    for _, waiting in batch:
                        waiting.set_result(None)
        await future

    async def seal_if_due(self) -> Path | None:
        if time.monotonic() - self._opened_at < self.seal_after_s:
            return None
        return await self.seal()

    async def seal(self) -> Path | None:
        async with self._lock:
            if not self.active_events:
                return None
            path = self._active_path
            events = self.active_events
            sealed = await asyncio.to_thread(self._seal_file, path, events)
            self._handle.close()
            path.unlink()
            self.active_events = []
            self._sequence += 1
            self._open_segment()
            return sealed

    async def forget_user(self, user_id: str) -> int:
        """Physically remove a user's events from the active segment and every sealed segment."""
        async with self._lock:
            kept = [event for event in self.active_events if event.user_id != user_id]
            removed = len(self.active_events) - len(kept)
            if removed:
                await asyncio.to_thread(self._rewrite_active, kept)
                self.active_events = kept
            removed += await asyncio.to_thread(self._purge_sealed, user_id)
        return removed

    async def close(self) -> None:
        await self.seal()
        async with self._lock:
            if self._handle:
                self._handle.close()
                if self._active_path.exists() and self._active_path.stat().st_size == 0:
                    self._active_path.unlink()
                self._handle = None

    def _open_segment(self) -> None:
        self._handle = open(self._active_path, "a", encoding="utf-8")
        # The lock tells recovery in other processes that this segment's writer is alive.
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._opened_at = time.monotonic()

    def _write(self, events: list[LogEvent]) -> None:
        self._handle.write("".join(event.to_json() + "\n" for event in events))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _rewrite_active(self, events: list[LogEvent]) -> None:
        path = self._active_path
        self._handle.close()
        temporary = path.with_suffix(".rewrite")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write("".join(event.to_json() + "\n" for event in events))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        self._handle = open(path, "a", encoding="utf-8")
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _seal_file(self, source: Path, events: list[LogEvent]) -> Path:
        day = min(event.created_at for event in events).astimezone(UTC).strftime("%Y-%m-%d")
        target = self.log_root / SEALED_DIR / f"dt={day}" / f"{source.stem}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".parquet.tmp")
        pq.write_table(events_table(events), temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return target

    def _recover_orphans(self) -> int:
        recovered = 0
        for path in sorted(self.spool_dir.glob("*.jsonl")):
            with open(path, "a", encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer owns it
                events = list(read_jsonl(path))
                if events:
                    self._seal_file(path, events)
                    recovered += len(events)
                path.unlink()
        if recovered:
            log.info("sealed %d events from segments of writers that stopped", recovered)
        return recovered

    def _purge_sealed(self, user_id: str) -> int:
        # Under the compaction lock, so a merge that read the files before this purge cannot write them back.
        with sealed_lock(self.log_root):
            return self._purge_sealed_locked(user_id)

    def _purge_sealed_locked(self, user_id: str) -> int:
        removed = 0
        for path in (self.log_root / SEALED_DIR).rglob("*.parquet"):
            table = pq.read_table(path)
            mask = [value != user_id for value in table.column("user_id").to_pylist()]
            if all(mask):
                continue
            removed += mask.count(False)
            temporary = path.with_suffix(".parquet.tmp")
            pq.write_table(table.filter(mask), temporary)
            os.replace(temporary, path)
        return removed


def utc_now() -> datetime:
    return datetime.now(UTC)
