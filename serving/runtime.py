"""The interpreter, tuned for the request path's tail while the server runs: the garbage collector and the GIL.

Both were measured under the open loop of bench/server_load.py (50 requests/s, 0.3 s fake Claude):
- A full collection of the server's heap (about 400,000 objects after startup: the embedder, the stores, the clients,
  the catalogue) stopped every thread for 212 ms. What startup built lives as long as the server, so it is frozen out
  of the collector's reach, and a full collection then scans only what requests made since (11 ms). Each collection's
  pause goes to /metrics, so a tail caused by one is seen, not guessed.
- A worker thread whose embedding or commit is done waits for the GIL while the event loop runs Python, up to the
  switch interval (5 ms by default) before it may take it. At 0.5 ms, a cache hit's p99 was lower in six of eight
  alternated pairs of runs, by up to a quarter; a Claude reply's overhead was within the runs' spread.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from serving.metrics import Metrics

SWITCH_INTERVAL_S = 0.0005


@contextmanager
def tuned_for_the_tail(metrics: Metrics) -> Iterator[None]:
    gc.collect()
    gc.freeze()
    started = 0.0

    def observe(phase: str, info: dict) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            metrics.gc_pauses.observe(info["generation"], time.perf_counter() - started)

    gc.callbacks.append(observe)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.callbacks.remove(observe)
        # Handed back, so that a process which starts many apps (the tests) frees each one's objects.
        gc.unfreeze()
