"""A circuit breaker for Claude: after repeated failures, stop calling it for a while and answer at once without it.

Closed: every call goes through. After `failures` failures in a row it opens: calls are refused for `open_s`.
Then one trial call goes through (half-open); its success closes the breaker, its failure opens it again.

Calls in flight count against the threshold once a streak of failures has begun: with two failures of five
seen, at most three more calls may be outstanding, so a burst against a failing Claude stops at the threshold
instead of sending every waiting chat (and its retry) first. Every allowed call must end in success() or failure().
"""

from __future__ import annotations

import time


class CircuitBreaker:
    def __init__(self, failures: int, open_s: float, clock=time.monotonic) -> None:
        self._threshold = failures
        self._open_s = open_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._in_flight = 0

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self._open_s else "open"

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def allow(self) -> bool:
        state = self.state
        admitted = (
            state == "closed" and (self._failures == 0 or self._failures + self._in_flight < self._threshold)
        ) or (state == "half_open" and not self._trial)
        if admitted:
            self._trial = state == "half_open"
            self._in_flight += 1
        return admitted

    def success(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at, self._trial = self._clock(), False
