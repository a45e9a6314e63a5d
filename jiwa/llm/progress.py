"""Progress of an LLM step in the run log: items done, their rate, tokens per second beside the raw rate, and ETA.

Counts and rates only: nothing a user wrote, nor anything generated about them, goes into the log.
"""

from __future__ import annotations

import threading
import time

from jiwa.llm.structured import StructuredLLM

PROGRESS_EVERY_S = 15.0


class Progress:
    """Logs `label done/total` at most every PROGRESS_EVERY_S seconds, and once when the last item is done."""

    def __init__(self, log, llm: StructuredLLM | None, total: int, label: str, every_s: float = PROGRESS_EVERY_S):
        self.log, self.llm, self.total, self.label, self.every_s = log, llm, total, label, every_s
        self.done = 0
        self.started = self.last_report = time.perf_counter()
        self._lock = threading.Lock()

    def step(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = time.perf_counter()
            if self.done < self.total and now - self.last_report < self.every_s:
                return
            self.last_report = now
            self.log.info(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.perf_counter()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        text = f"{self.label} {self.done}/{self.total} ({rate * 60:.1f}/min, ETA {eta:.0f}s"
        if self.llm is not None:
            stats = self.llm.stats
            text += f", {stats.tokens_per_second:.1f} tokens/s"
            if stats.raw_tokens_per_second:
                text += f" vs raw {stats.raw_tokens_per_second:.1f} ({stats.over_raw:.2f}x)"
            text += f", {stats.dropped} dropped"
        return text + ")"
