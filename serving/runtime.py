"""The interpreter, tuned for the request path's tail while a server runs: the garbage collector and the GIL.

Both were measured under the open loop of bench/server_load.py (50 requests/s, 0.3 s fake Claude):
- A full collection of the server's heap (the embedder, the stores, the clients, the catalogue: about 440,000 objects
  after startup) stopped every thread for 212 ms, measured with a gc.callbacks probe. What startup built is frozen out
  of the collector's reach, so a full collection then scans only what requests made since (11 ms). A frozen object
  that a later publish replaces is still freed when nothing refers to it; one caught in a reference cycle stays until
  the server stops, which costs at most the startup copy of each store once. Each collection's pause goes to /metrics,
  so a tail caused by one is seen, not guessed.
- A worker thread whose embedding or commit is done waits for the GIL while the event loop runs Python, up to the
  switch interval (5 ms by default) before it may take it. At 0.5 ms, a cache hit's p99 was lower in six of eight
  alternated pairs of runs, by up to a quarter; a Claude reply's overhead was within the runs' spread.

Both are the process's, not an app's: the first app to start sets them, the last to stop puts back what it found, so
apps that overlap in one process (the tests) leave each other's alone.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from serving.metrics import Metrics

SWITCH_INTERVAL_S = 0.0005

_lock = threading.Lock()
_running = 0
_interval_found = sys.getswitchinterval()


@contextmanager
def tuned_for_the_tail(metrics: Metrics) -> Iterator[None]:
    _first_in()
    started = 0.0

    def observe(phase: str, info: dict) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            metrics.gc_pauses.observe(info["generation"], time.perf_counter() - started)

    gc.callbacks.append(observe)
    try:
        yield
    finally:
        gc.callbacks.remove(observe)
        _last_out()


def _first_in() -> None:
    global _running, _interval_found
    with _lock:
        _running += 1
        if _running == 1:
            _interval_found = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        # Each app freezes what its own startup built; what an earlier one froze stays frozen.
        gc.collect()
        gc.freeze()


def _last_out() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            sys.setswitchinterval(_interval_found)
            # Handed back, so that a process which starts many apps (the tests) frees each one's objects.
            gc.unfreeze()
