"""Group commit for the conversation store: appends that arrive while a commit is under way wait for it, then go
together in the next transaction, one fsync for all of them. Each caller returns once its events are committed."""

from __future__ import annotations

import asyncio

from jiwa.conversations.repository import ConversationRepository
from jiwa.convlog import LogEvent


class GroupCommit:
    def __init__(self, repository: ConversationRepository) -> None:
        # Anything with a blocking append(list of events) will do; the store's repository is what the server uses.
        self.repository = repository
        self._pending: list[tuple[list[LogEvent], asyncio.Future]] = []
        self._lock = asyncio.Lock()

    async def append(self, batch: list[LogEvent]) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        async with self._lock:
            if not future.done():
                waiting, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self.repository.append, [e for group, _ in waiting for e in group])
                except Exception as exc:  # every caller of the batch learns its events were not stored
                    for _, done in waiting:
                        done.set_exception(exc)
                else:
                    for _, done in waiting:
                        done.set_result(None)
        await future
