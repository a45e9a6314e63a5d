"""Prometheus metrics, on a registry per app so tests and several apps in one process stay apart."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.replies = Counter(
            "jiwa_replies_total", "Replies by what answered", ["endpoint", "source"], registry=self.registry
        )
        self.stage_seconds = Histogram(
            "jiwa_stage_seconds", "Time per stage of a chat turn", ["stage"], buckets=_BUCKETS, registry=self.registry
        )
        self.responder_failures = Counter(
            "jiwa_responder_failures_total",
            "Responder attempts that failed",
            ["responder", "reason"],
            registry=self.registry,
        )
        self.local_responder_up = Gauge(
            "jiwa_local_responder_up",
            "1 when LLAMA's worker started and passed its probe generation, 0 when local replies are off",
            registry=self.registry,
        )
        self.store_loaded = Gauge(
            "jiwa_store_loaded",
            "1 when the server holds a published version of the store, 0 when it is missing or unusable",
            ["store"],
            registry=self.registry,
        )
        self.claude_tokens = Counter(
            "jiwa_claude_tokens_total", "Claude tokens", ["model", "kind"], registry=self.registry
        )
        self.claude_cost = Counter(
            "jiwa_claude_cost_usd_total", "Estimated Claude cost in USD", ["model"], registry=self.registry
        )
        self.claude_reply_cost = Histogram(
            "jiwa_claude_reply_cost_usd",
            "Estimated cost of one Claude reply in USD, cached input at its price",
            ["model"],
            buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05),
            registry=self.registry,
        )
        self.claude_cache_saved = Counter(
            "jiwa_claude_cache_saved_usd_total",
            "What cache reads saved against paying the full input price for the same tokens, in USD",
            ["model"],
            registry=self.registry,
        )
        self.claude_prefix_cache = Counter(
            "jiwa_claude_prefix_cache_total",
            "Claude replies by what the prompt cache did: read the prefix, wrote it, or neither (a miss)",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.claude_prefix_tokens = Gauge(
            "jiwa_claude_prefix_tokens",
            "Tokens of the cached prefix (rules and cultural primer), local estimate",
            registry=self.registry,
        )
        self.claude_prefix_cacheable = Gauge(
            "jiwa_claude_prefix_cacheable",
            "1 when the cached prefix reaches the model's cache minimum with the local margin, 0 when it does not",
            ["model"],
            registry=self.registry,
        )

        self.gc_pauses = GcPauses()
        self.registry.register(self.gc_pauses)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class GcPauses:
    """Each garbage collection's pause, by generation (2 is a full one), read by /metrics as a histogram.

    A collection may start inside any allocation of any thread, a metric's own locked section included, and
    prometheus_client's locks are not reentrant: observing into a Histogram from the collector's callback could wait
    for ever on a lock its own thread holds. So the callback only adds to plain counters, under the GIL, and no lock
    is taken until a scrape reads them."""

    BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
    GENERATIONS = 3

    def __init__(self) -> None:
        self._counts = [[0] * (len(self.BUCKETS) + 1) for _ in range(self.GENERATIONS)]
        self._sums = [0.0] * self.GENERATIONS

    def observe(self, generation: int, seconds: float) -> None:
        self._counts[generation][bisect_left(self.BUCKETS, seconds)] += 1
        self._sums[generation] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "jiwa_gc_pause_seconds",
            "Garbage collections by generation (2 is a full one), each the time every thread of the server stood still",
            labels=["generation"],
        )
        bounds = (*map(str, self.BUCKETS), "+Inf")
        for generation in range(self.GENERATIONS):
            cumulative = accumulate(self._counts[generation])
            buckets = list(zip(bounds, cumulative, strict=True))
            family.add_metric([str(generation)], buckets, sum_value=self._sums[generation])
        yield family
