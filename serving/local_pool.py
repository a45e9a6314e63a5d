"""LLAMA's local replies on their own bounded executor: one generation at a time (llama.cpp is not re-entrant),
at most `queue_limit` waiting, each with a timeout. Beyond that the caller gets None at once and answers honestly;
no other work (the log's writes included) ever waits behind a local generation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class LocalPool:
    def __init__(self, queue_limit: int, timeout_s: float) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jiwa-local")
        self._queue_limit = queue_limit
        self._timeout_s = timeout_s
        # Generations submitted and not finished, the running one included: a timed-out generation still occupies
        # the worker until llama.cpp returns, so it still counts.
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def run(self, work: Callable[[], T], timeout_s: float | None = None) -> T | None:
        """work() on the pool, or None when the queue is full or it did not finish in time."""
        with self._lock:
            if self._in_flight >= self._queue_limit:
                return None
            self._in_flight += 1
        future = self._executor.submit(work)
        future.add_done_callback(self._finished)
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(future), min(self._timeout_s, timeout_s or self._timeout_s)
            )
        except TimeoutError:
            log.warning("local reply timed out; answering without it")
            return None

    def _finished(self, _future) -> None:
        with self._lock:
            self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
