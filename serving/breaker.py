"""A circuit breaker for Claude: after repeated failures, stop calling it for a while and answer at once without it.

Closed: every call goes through. After `failures` failures in a row it opens: calls are refused for `open_s`.
Then one trial call goes through (half-open); its success closes the breaker, its failure opens it again.
"""

import time


class CircuitBreaker:
    def __init__(self, failures: int, open_s: float, clock=time.monotonic) -> None:
        self._threshold = failures
        self._open_s = open_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self._open_s else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at, self._trial = self._clock(), False
