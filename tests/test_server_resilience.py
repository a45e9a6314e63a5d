"""Faults cost nothing: a circuit breaker stops calling a failing Claude, every turn has one deadline, local
replies run on their own bounded executor where a full queue or a slow generation falls back at once, the garbage
collector never pauses the server to scan what startup built, and threads hand over the GIL every 0.5 ms."""

import asyncio
import contextlib
import gc
import re
import sys
import time
from types import SimpleNamespace

import httpx
from litestar.testing import AsyncTestClient

from jiwa.prompts import load_prompt
from serving.app import create_app
from serving.breaker import CircuitBreaker
from serving.grounding import Grounding
from serving.local_pool import LocalPool
from serving.metrics import Metrics
from serving.responder import Responder
from serving.runtime import SWITCH_INTERVAL_S
from tests.support.server import LiveServer, auth, server_settings


def test_the_breaker_opens_after_repeated_failures_and_tries_once_after_a_while():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, open_s=30, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 31
    assert breaker.allow() and not breaker.allow()  # one trial call at a time
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 62
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


async def test_a_failing_claude_is_not_called_once_the_breaker_opens(claude, data_uri):
    claude.mode = "529"
    settings = server_settings(data_uri, claude.url, claude_breaker_failures=2, claude_breaker_open_s=60)
    async with AsyncTestClient(app=create_app(settings)) as client:
        sources = []
        for index in range(6):
            reply = await client.post("/v1/chat", json={"user_id": f"u{index}", "message": "Halo"}, headers=auth())
            sources.append(reply.json()["source"])
    assert len(claude.requests) == 2 and sources == ["fallback"] * 6


async def test_while_the_server_runs_startup_is_out_of_the_collectors_reach_and_threads_switch_often(claude, data_uri):
    assert gc.get_freeze_count() == 0
    interval = sys.getswitchinterval()
    app = create_app(server_settings(data_uri, claude.url))
    async with AsyncTestClient(app=app) as client:
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S < interval
        # Frozen objects are left out of the collector's lists: the services the lifespan opened are among them.
        assert id(app.state.services) not in {id(tracked) for tracked in gc.get_objects()}
        reply = await client.post("/v1/chat", json={"user_id": "ana", "message": "Halo"}, headers=auth())
        assert reply.status_code == 200
        gc.collect()
        metrics = (await client.get("/metrics")).text
    # Every collection's pause is seen: a full one, by generation.
    full = re.search(r'jiwa_gc_pause_seconds_count\{generation="2"\} ([0-9.]+)', metrics)
    assert full and float(full.group(1)) >= 1
    # Handed back at shutdown, so that a test process which starts many apps frees them.
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval


async def test_apps_that_overlap_in_one_process_leave_each_others_settings_alone(claude, data_uri):
    interval = sys.getswitchinterval()
    first = AsyncTestClient(app=create_app(server_settings(data_uri, claude.url)))
    second = AsyncTestClient(app=create_app(server_settings(data_uri, claude.url)))
    await first.__aenter__()
    await second.__aenter__()
    try:
        await first.__aexit__(None, None, None)
        # The first to stop leaves the one still running as it was.
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S and gc.get_freeze_count() > 0
    finally:
        await second.__aexit__(None, None, None)  # even when the check fails: later tests need a process unfrozen
    assert sys.getswitchinterval() == interval and gc.get_freeze_count() == 0


def test_gc_pauses_are_read_as_a_cumulative_histogram_by_generation():
    metrics = Metrics()
    for generation, seconds in ((2, 0.2), (2, 0.0005), (0, 0.00005)):
        metrics.gc_pauses.observe(generation, seconds)
    text = metrics.render().decode()
    assert 'jiwa_gc_pause_seconds_bucket{generation="2",le="0.0005"} 1.0' in text
    assert 'jiwa_gc_pause_seconds_bucket{generation="2",le="0.1"} 1.0' in text
    assert 'jiwa_gc_pause_seconds_bucket{generation="2",le="+Inf"} 2.0' in text
    assert 'jiwa_gc_pause_seconds_count{generation="0"} 1.0' in text
    assert 'jiwa_gc_pause_seconds_sum{generation="2"} 0.2005' in text


async def test_one_deadline_bounds_the_whole_turn(claude, data_uri):
    claude.delay_s = 5.0
    settings = server_settings(data_uri, claude.url, claude_timeout_s=30, turn_deadline_s=0.5)
    async with AsyncTestClient(app=create_app(settings)) as client:
        started = time.perf_counter()
        reply = await client.post("/v1/chat", json={"user_id": "ana", "message": "Halo"}, headers=auth())
        elapsed = time.perf_counter() - started
    assert reply.status_code == 200 and reply.json()["source"] == "fallback"
    assert elapsed < 2.0


class _SlowLocal:
    model_id = "slow-local"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def generate_from(self, prompt, output, messages, max_tokens):
        time.sleep(self.seconds)
        return SimpleNamespace(reply="Halo dari LLAMA lokal, semoga membantu.")


async def test_local_replies_queue_on_their_own_executor_and_overflow_falls_back_at_once(data_uri):
    settings = server_settings(data_uri, local_queue_limit=2, local_timeout_s=5.0)
    responder = Responder(settings, load_prompt("responder"), Metrics(), None, _SlowLocal(0.3))

    async def timed():
        started = time.perf_counter()
        reply = await responder.reply([], "Halo", Grounding(language="id"), responder.deadline())
        return reply.source, time.perf_counter() - started

    results = await asyncio.gather(*(timed() for _ in range(6)))
    local = [elapsed for source, elapsed in results if source == "local"]
    fallback = [elapsed for source, elapsed in results if source == "fallback"]
    assert len(local) == 2 and len(fallback) == 4
    assert max(fallback) < 0.2 <= min(local)
    assert responder.local_pool.in_flight == 0
    responder.local_pool.close()


async def test_a_slow_local_generation_times_out_and_keeps_its_slot_until_it_ends():
    pool = LocalPool(queue_limit=1, timeout_s=0.1)
    assert await pool.run(lambda: time.sleep(0.5)) is None  # timed out
    assert pool.in_flight == 1 and await pool.run(lambda: "next") is None  # still generating: no queue left
    await asyncio.sleep(0.6)
    assert pool.in_flight == 0 and await pool.run(lambda: "next") == "next"
    pool.close()


async def test_with_claude_down_twenty_concurrent_chats_are_answered_within_the_bounds(claude, data_uri, monkeypatch):
    """The fault as measured before: Claude unreachable, 20 chats at once, a local model that takes its time."""
    claude.mode = "529"
    monkeypatch.setattr("serving.services.local_llm", lambda settings: _SlowLocal(0.3))
    settings = server_settings(
        data_uri, claude.url, local_queue_limit=4, local_timeout_s=2.0, rate_limit_per_minute=10_000
    )
    # Real HTTP: the in-process test client runs one request at a time.
    with LiveServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

            async def chat(index: int) -> tuple[str, float]:
                started = time.perf_counter()
                body = {"user_id": f"u{index}", "message": "Halo"}
                reply = await client.post("/v1/chat", json=body, headers=auth())
                assert reply.status_code == 200
                return reply.json()["source"], time.perf_counter() - started

            results = await asyncio.gather(*(chat(index) for index in range(20)))
    sources = [source for source, _ in results]
    assert set(sources) <= {"local", "fallback"} and "fallback" in sources  # the queue overflowed: honest at once
    # At most four local replies queue, one after another, each 0.3 s: nobody waits much longer than that, where
    # every chat used to wait for every local reply before it (37.8 s for the slowest of 20 with SmolLM2).
    assert max(elapsed for _, elapsed in results) < 4 * 0.3 + 1.5, sorted(elapsed for _, elapsed in results)


async def test_a_trial_call_cancelled_midway_leaves_a_verdict(data_uri, claude):
    claude.delay_s = 5.0
    settings = server_settings(data_uri, claude.url, claude_breaker_failures=1, claude_breaker_open_s=0.1)
    responder = Responder(settings, load_prompt("responder"), Metrics(), _claude_client(claude), None)
    responder.breaker.failure()  # open
    await asyncio.sleep(0.15)  # half-open: the next call is the trial
    trial = asyncio.create_task(responder.reply([], "Halo", Grounding(language="id"), responder.deadline()))
    await asyncio.sleep(0.2)
    trial.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await trial
    await asyncio.sleep(0.15)
    assert responder.breaker.allow()  # not stuck waiting for a verdict that never came


def _claude_client(claude):
    import anthropic

    return anthropic.AsyncAnthropic(api_key="test-key-not-a-secret", base_url=claude.url, max_retries=0)


async def test_a_burst_against_a_failing_claude_sends_each_chat_at_most_once(claude, data_uri):
    """20 chats at once, one retry allowed: retries go through the breaker, which counts calls in flight once
    failures have begun, so the burst costs at most one call per chat (it cost two each, 40, before)."""
    claude.mode = "529"
    settings = server_settings(
        data_uri, claude.url, claude_max_retries=1, claude_breaker_failures=5, rate_limit_per_minute=10_000
    )
    app = create_app(settings)
    with LiveServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            replies = await asyncio.gather(
                *(
                    client.post("/v1/chat", json={"user_id": f"b{i}", "message": "Halo"}, headers=auth())
                    for i in range(20)
                )
            )
        breaker = app.state.services.responder.breaker
        assert breaker.state == "open" and breaker.in_flight == 0
    assert all(r.status_code == 200 and r.json()["source"] == "fallback" for r in replies)
    assert 5 <= len(claude.requests) <= 20


def test_once_failures_begin_calls_in_flight_count_against_the_threshold():
    breaker = CircuitBreaker(failures=3, open_s=30)
    assert all(breaker.allow() for _ in range(10))  # healthy: no limit
    breaker.failure()  # one failure, nine still out: nothing more until they end
    assert not breaker.allow()
    for _ in range(8):
        breaker.success()
    assert breaker.in_flight == 1 and breaker.allow() and breaker.allow() and breaker.in_flight == 3
