"""The garbage collector, kept off the request path's tail.

Measured under the open loop of bench/server_load.py: a full collection of the server's heap (about 400,000 objects
after startup: the embedder, the stores, the clients, the catalogue) stopped every thread for 212 ms. What startup
built lives as long as the server, so it is frozen out of the collector's reach, and a full collection then scans only
what requests made since. Each collection's pause goes to /metrics, so a tail caused by one is seen, not guessed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from serving.metrics import Metrics


@contextmanager
def startup_heap_frozen(metrics: Metrics) -> Iterator[None]:
    gc.collect()
    gc.freeze()
    started = 0.0

    def observe(phase: str, info: dict) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            metrics.gc_pause_seconds.labels(str(info["generation"])).observe(time.perf_counter() - started)

    gc.callbacks.append(observe)
    try:
        yield
    finally:
        gc.callbacks.remove(observe)
        # Handed back, so that a process which starts many apps (the tests) frees each one's objects.
        gc.unfreeze()
