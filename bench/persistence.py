"""Chat persistence: storing a turn (the user's message and the reply, two events), at concurrency 16, with the
conversation store on SQLite and on PostgreSQL, beside the file log it replaced, all in one run on this machine.
And the cost of looking up an unknown conversation id as the store grows (10k and 1M stored turns).

The file log baseline is its append path as it was: JSON lines, concurrent appends sharing one write and one fsync
(group commit). Its sealing, recovery and purge are left out, which flatters it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import parse, percentiles_ms, save
from bench.support.log import conversation
from jiwa.conversations import sqlite_url
from jiwa.conversations.events import LogEvent
from jiwa.conversations.group_commit import GroupCommit
from jiwa.conversations.repository import ConversationRepository, event_row
from jiwa.conversations.schema import events


class FileLog:
    """The file log's write: JSON lines appended to one file, flushed and fsynced before acknowledging. Behind
    GroupCommit, concurrent appends share one write and one fsync, as they did."""

    def __init__(self, path: Path) -> None:
        self._handle = open(path, "a", encoding="utf-8")

    def append(self, batch: list[LogEvent]) -> None:
        lines = []
        for event in batch:
            payload = asdict(event)
            payload["created_at"] = event.created_at.isoformat()
            lines.append(json.dumps(payload, ensure_ascii=False) + "\n")
        self._handle.write("".join(lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())


async def _load(appender, turns: int, concurrency: int) -> dict:
    latencies: list[float] = []
    queue = list(range(turns))

    async def worker(index: int) -> None:
        while queue:
            queue.pop()
            batch = conversation(
                f"conv_{uuid.uuid4().hex}", f"user{index}", ["Halo, apa kabar?"], start=datetime.now(UTC), ended=False
            )
            started = time.perf_counter()
            await appender.append(batch)
            latencies.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # CPU beside wall time: on a shared machine the commits' CPU is what a server's other requests wait behind.
    return {
        **percentiles_ms(latencies),
        "turns_per_s": round(turns / elapsed, 1),
        "cpu_ms_per_turn": round(1000 * cpu / turns, 3),
    }


def _fill(repository: ConversationRepository, turns: int) -> None:
    """`turns` stored turns (two events each), written in large batches straight through the schema."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    with repository.engine.begin() as connection:
        for index in range(turns):
            for event in conversation(
                f"fill{index}", f"u{index % 5000}", ["x"], start=start + timedelta(seconds=index), ended=False
            ):
                batch.append(event_row(event))
            if len(batch) >= 20_000:
                connection.execute(events.insert(), batch)
                batch = []
        if batch:
            connection.execute(events.insert(), batch)


def _unknown_lookup(repository: ConversationRepository, samples: int = 200) -> dict:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        assert repository.conversation_events("acme", f"conv_{uuid.uuid4().hex}") == []
        latencies.append(time.perf_counter() - started)
    return percentiles_ms(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sizes", default="10000,1000000", help="Stored turns at which unknown ids are looked up.")
    parser.add_argument("--no-postgres", action="store_true")
    args = parse(parser, turns=40, concurrency=4, sizes="200,1000")
    report: dict = {"concurrency": args.concurrency, "turns": args.turns}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        report["file_log"] = asyncio.run(_load(GroupCommit(FileLog(root / "log.jsonl")), args.turns, args.concurrency))
        engines = {"sqlite": sqlite_url(str(root / "sqlite"))}
        server = None
        if not args.no_postgres:
            from bench.support.postgres import Postgres

            server = Postgres(str(root / "postgres"))
            engines["postgresql"] = server.new_database()
        for name, url in engines.items():
            repository = ConversationRepository.open(url)
            report[name] = asyncio.run(_load(GroupCommit(repository), args.turns, args.concurrency))
            lookups = {}
            stored = args.turns
            for size in (int(s) for s in args.sizes.split(",")):
                _fill(repository, size - stored)
                stored = size
                lookups[f"unknown_id_at_{size}_turns"] = _unknown_lookup(repository)
            report[name]["lookups"] = lookups
            repository.close()
        if server:
            server.stop()
    for engine in ("sqlite", "postgresql"):
        if engine in report:
            report[f"{engine}_turns_per_s_over_file_log"] = round(
                report[engine]["turns_per_s"] / report["file_log"]["turns_per_s"], 3
            )
    print(json.dumps(report, indent=2))
    print("saved", save("persistence", report))


if __name__ == "__main__":
    main()
