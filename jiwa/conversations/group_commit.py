"""Group commit for the conversation store: appends that arrive while a commit is under way wait for it, then go
together in the next transaction, one fsync for all of them. Each caller returns once its events are committed.

A commit runs as a task of its own, so a caller that is cancelled (a client gone mid-stream) never leaves the
others of its batch waiting. When a batch fails, each caller's events are tried alone, so one bad event fails only
its own caller.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from jiwa.conversations.events import LogEvent


class EventStore(Protocol):
    """Where a group goes: the store's repository is what the server uses; anything with a blocking append will do."""

    def append(self, batch: list[LogEvent], /) -> None: ...


class GroupCommit:
    def __init__(self, repository: EventStore) -> None:
        self.repository = repository
        self._pending: list[tuple[list[LogEvent], asyncio.Future]] = []
        self._lock = asyncio.Lock()

    async def append(self, batch: list[LogEvent]) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        async with self._lock:
            if not future.done():
                waiting, self._pending = self._pending, []
                await asyncio.shield(asyncio.ensure_future(self._commit(waiting)))
        await future

    async def _commit(self, waiting: list[tuple[list[LogEvent], asyncio.Future]]) -> None:
        try:
            await asyncio.to_thread(self.repository.append, [e for group, _ in waiting for e in group])
        except Exception as exc:
            if len(waiting) == 1:
                _settle(waiting[0][1], exc)
                return
            for group, future in waiting:
                try:
                    await asyncio.to_thread(self.repository.append, group)
                except Exception as alone:  # this caller's own events are what the store refused
                    _settle(future, alone)
                else:
                    _settle(future, None)
        else:
            for _, future in waiting:
                _settle(future, None)


def _settle(future: asyncio.Future, error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
