"""Load on the started chat server with a fake Claude that answers at once: requests/s and the server's own overhead.

The server runs as its own process (`python -m serving`) over a data folder with a published insight table; the
fake Messages API and the load generator share this process. Overhead is the server's total time for a turn
minus the responder's, as the server reports it in timings_ms; the stages are reported the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from bench.common import parse, percentiles_ms, save
from bench.support.fake_anthropic import FakeAnthropic, free_port
from bench.support.publish import FACTS_CHECKED_ON, publish_fake_insights, publish_team_cache
from bench.support.resources import pipeline_resources
from serving.auth import hash_key

MESSAGES = [
    "aku malu bertanya tentang visa",
    "Quanto costa il KITAS per mia moglie?",
    "How do I hire my first Indonesian employee?",
    "Apa bedanya NPWP pribadi dan NPWP badan?",
    "My agent is late again, is that normal?",
    "Come mi presento ai vicini balinesi?",
    "Berapa lama proses KITAS untuk istri saya?",
    "Is it rude to refuse food at a ceremony?",
    "Sono stanco della burocrazia",
    "What is the banjar?",
]
KEY = "bench-key"


def unique(text: str, *run: object) -> str:
    """The message made unique to its request, so the server's embedding cache never hides the embedding cost, with
    digits only: a word in the tag ("open") would be a term the cache's rules read, and change what it answers."""
    return f"{text} ({'-'.join(str(part) for part in run)})"


def start_server(
    data_uri: str, claude_url: str, port: int, wait_for: str = "/ready", **extra_env: str
) -> subprocess.Popen:
    """The server on `port`, once `wait_for` answers 200: /health where nothing is published, since /ready is 503
    until the knowledge base is."""
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": "bench",
        "JIWA_DATA_URI": data_uri,
        "JIWA_PORT": str(port),
        "JIWA_ANTHROPIC_BASE_URL": claude_url,
        "JIWA_LOCAL_RESPONDER": "false",
        "JIWA_RATE_LIMIT_PER_MINUTE": "1000000",
        "JIWA_API_KEYS": f"bench=sha256:{hash_key(KEY)}",
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}{wait_for}", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


# Messages the team's response cache answers (with --cache-hits), in the three languages, with the social intents.
CACHE_MESSAGES = [
    "how much does a KITAS cost?",
    "quanto costa il KITAS?",
    "berapa biaya KITAS?",
    "thanks a lot",
    "halo",
]
CACHE_SHARE = 5  # with --cache-hits, one message in this many is one the cache answers
# The open loops: the server, the floor server (nothing published, nothing to embed), and with --embedding-cached the
# server again with each message repeated, so that its embedding cache answers them.
SERVED, FLOOR, EMBEDDING_CACHED = "served", "floor", "embedding_cached"
LOOP_NAMES = {
    SERVED: "served",
    FLOOR: "floor (nothing published)",
    EMBEDDING_CACHED: "served, embedding cached",
}


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user and system, all threads) a process has used so far, from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class LoopCost:
    """What a loop cost: the CPU the server and the load generator (this process: its HTTP client and the fake Claude)
    spent, and the server's garbage-collection pauses, read from its /metrics before and after each round."""

    server_url: str
    server_pid: int
    server_s: float = 0.0
    generator_s: float = 0.0
    gc_spent: dict[str, list[float]] = field(default_factory=dict)  # generation: [seconds, collections]

    @contextmanager
    def counting(self) -> Iterator[None]:
        pauses = gc_pauses(self.server_url)
        server, generator = process_cpu_s(self.server_pid), time.process_time()
        try:
            yield
        finally:
            self.server_s += process_cpu_s(self.server_pid) - server
            self.generator_s += time.process_time() - generator
            for generation, (seconds, count) in gc_pauses(self.server_url).items():
                seconds_before, count_before = pauses.get(generation, (0.0, 0.0))
                spent = self.gc_spent.setdefault(generation, [0.0, 0.0])
                spent[0] += seconds - seconds_before
                spent[1] += count - count_before

    def per_request(self, requests: int) -> dict:
        """CPU a request, and the pauses in all: every collection's, and the full ones' (generation 2), which stop
        every thread longest."""
        full_s, full = self.gc_spent.get("2", [0.0, 0.0])
        return {
            "server_cpu_ms_per_request": round(1000 * self.server_s / requests, 2),
            "generator_cpu_ms_per_request": round(1000 * self.generator_s / requests, 2),
            "gc_pause_ms_total": round(1000 * sum(seconds for seconds, _ in self.gc_spent.values()), 1),
            "gc_full_collections": int(full),
            "gc_full_pause_ms_mean": round(1000 * full_s / full, 1) if full else None,
        }


@contextmanager
def generator_heap_frozen() -> Iterator[None]:
    """The load generator's own full collections stop its threads for 100-200 ms; the fake Claude's replies and the
    next requests then reach the server in a burst no Poisson arrival makes. What exists before the loop is set aside
    from the collector while it runs."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def open_loop_samples(
    url: str, rate: float, total: int, cost: LoopCost, cache_hits: bool = False, seed: int = 3, repeated: bool = False
) -> list[dict]:
    """Poisson arrivals at `rate` per second, as real users arrive, instead of clients waiting on each other.

    One sample per request: the server's timings and answer source, the client's latency, and whether the message
    was one the cache should answer. `cost` adds what the loop cost the server and this process. `repeated` sends the
    messages as they are, not made unique: with each embedded before the loop, the server's embedding cache answers
    them all, so the loop measures the served path with the query embedding's cost taken out and everything else kept."""
    rng = np.random.default_rng(seed)
    samples: list[dict] = []

    async def one(client: httpx.AsyncClient, n: int) -> None:
        cached = cache_hits and n % CACHE_SHARE == 0
        text = CACHE_MESSAGES[n // CACHE_SHARE % len(CACHE_MESSAGES)] if cached else MESSAGES[n % len(MESSAGES)]
        body = {"user_id": f"open{n % 50}", "message": text if repeated else unique(text, rate, seed, n)}
        started = time.perf_counter()
        response = await client.post("/v1/chat", json=body, headers={"Authorization": f"Bearer {KEY}"})
        latency = time.perf_counter() - started
        if response.status_code == 200:
            answer = response.json()
            samples.append(
                {
                    "timings": answer["timings_ms"],
                    "source": answer["source"],
                    "cache_message": cached,
                    "latency": latency,
                }
            )

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=256)) as client:
        with generator_heap_frozen(), cost.counting():
            tasks = []
            for n in range(total):
                tasks.append(asyncio.create_task(one(client, n)))
                await asyncio.sleep(float(rng.exponential(1 / rate)))
            await asyncio.gather(*tasks)
    return samples


def gc_pauses(url: str) -> dict[str, tuple[float, float]]:
    """The server's garbage-collection pauses since it began serving, from its /metrics: (seconds, count) per
    generation."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples if family.name == "jiwa_gc_pause_seconds" else ():
            if sample.name.endswith("_sum"):
                sums[sample.labels["generation"]] = sample.value
            elif sample.name.endswith("_count"):
                counts[sample.labels["generation"]] = sample.value
    if not sums:
        raise RuntimeError(f"{url}/metrics has no jiwa_gc_pause_seconds: is the server older than this benchmark?")
    return {generation: (sums[generation], counts[generation]) for generation in sums}


def open_summary(loop: str, samples: list[dict], rate: float, requests: int, cost: LoopCost) -> dict:
    """Overhead of the replies the responder wrote; cache hits, which have no responder stage, apart."""
    answered = [s["timings"] for s in samples if s["source"] != "cache"]
    hits = [s["timings"] for s in samples if s["source"] == "cache"]
    summary = {
        "loop": loop,
        "arrival_rate_per_s": rate,
        "requests": requests,
        "ok": len(samples),
        "server_overhead": percentiles_ms([(t["total"] - t.get("responder", 0.0)) / 1000 for t in answered]),
        "retrieval": percentiles_ms([t.get("retrieval", 0.0) / 1000 for t in answered]),
        "overhead_without_retrieval": percentiles_ms(
            [(t["total"] - t.get("responder", 0.0) - t.get("retrieval", 0.0)) / 1000 for t in answered]
        ),
        # The response cache's gates, which embed a message that names an intent's terms before retrieval does.
        "cache": percentiles_ms([t.get("cache", 0.0) / 1000 for t in answered]),
        "persist_user": percentiles_ms([t.get("persist_user", 0.0) / 1000 for t in answered]),
        "responder": percentiles_ms([t.get("responder", 0.0) / 1000 for t in answered]),
        "client_latency": percentiles_ms([s["latency"] for s in samples if s["source"] != "cache"]),
        **cost.per_request(requests),
    }
    if any(s["cache_message"] for s in samples):
        summary["cache_messages"] = sum(s["cache_message"] for s in samples)
        summary["cache_hits"] = sum(s["cache_message"] and s["source"] == "cache" for s in samples)
        summary["other_messages_served_from_cache"] = sum(
            not s["cache_message"] and s["source"] == "cache" for s in samples
        )
        summary["cache_hit_total"] = percentiles_ms([t["total"] / 1000 for t in hits]) if hits else None
    return summary


async def open_loop(url: str, server_pid: int, rate: float, total: int, cache_hits: bool = False) -> dict:
    cost = LoopCost(url, server_pid)
    return open_summary(SERVED, await open_loop_samples(url, rate, total, cost, cache_hits), rate, total, cost)


async def embed_every_message(url: str, cache_hits: bool) -> None:
    """Each message the open loop sends, sent once as it is: the server's embedding cache then holds every one."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for text in MESSAGES + (CACHE_MESSAGES if cache_hits else []):
            response = await client.post(
                "/v1/chat", json={"user_id": "warm", "message": text}, headers={"Authorization": f"Bearer {KEY}"}
            )
            response.raise_for_status()


async def open_loop_beside_floor(
    served_at: tuple[str, int],
    floor_at: tuple[str, int],
    rate: float,
    total: int,
    rounds: int,
    cache_hits: bool,
    embedding_cached: bool = False,
) -> list[dict]:
    """The same open loop on the server and on the floor server (nothing to embed), each given as (url, pid), in
    alternating rounds, so that what else the machine runs meanwhile weighs on both alike: the served summary, the
    floor's, and with `embedding_cached` a third loop on the served server with repeated messages."""
    loops = [(SERVED, *served_at, False), (FLOOR, *floor_at, False)]
    if embedding_cached:
        loops.append((EMBEDDING_CACHED, *served_at, True))
        await embed_every_message(served_at[0], cache_hits)
    samples: dict[str, list[dict]] = {name: [] for name, *_ in loops}
    cost = {name: LoopCost(url, pid) for name, url, pid, _ in loops}
    per_round = max(1, total // rounds)
    for round_ in range(rounds):
        for name, url, _, repeated in loops:
            samples[name] += await open_loop_samples(
                url, rate, per_round, cost[name], cache_hits, seed=3 + round_, repeated=repeated
            )
    requests = per_round * rounds
    return [open_summary(name, samples[name], rate, requests, cost[name]) for name, *_ in loops]


async def load(url: str, concurrency: int, total: int) -> dict:
    timings: list[dict] = []
    client_latency: list[float] = []
    errors = ungrounded = 0
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient, index: int) -> None:
        nonlocal errors, ungrounded
        for n in counter:
            body = {
                "user_id": f"bench{index}-{n % 7}",
                "message": unique(MESSAGES[n % len(MESSAGES)], concurrency, index, n),
            }
            started = time.perf_counter()
            response = await client.post("/v1/chat", json=body, headers={"Authorization": f"Bearer {KEY}"})
            client_latency.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1
                continue
            answer = response.json()
            timings.append(answer["timings_ms"])
            ungrounded += not answer["insight_ids"]

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started

    def stage(name: str) -> dict:
        return percentiles_ms([t.get(name, 0.0) / 1000 for t in timings])

    overhead = [(t["total"] - t.get("responder", 0.0)) / 1000 for t in timings]
    return {
        "concurrency": concurrency,
        "requests": total,
        "errors": errors,
        "answers_without_insights": ungrounded,
        "requests_per_s": round(len(timings) / elapsed, 1),
        "client_latency": percentiles_ms(client_latency),
        "server_overhead": percentiles_ms(overhead),
        "responder": stage("responder"),
        "stages": {
            name: stage(name) for name in ("persist_user", "cache", "retrieval", "profile", "persist_assistant")
        },
        "overhead_without_retrieval": percentiles_ms(
            [(t["total"] - t.get("responder", 0.0) - t.get("retrieval", 0.0)) / 1000 for t in timings]
        ),
    }


def cache_env() -> dict[str, str]:
    """A day within every team fact's review date: the shipped facts may be past review today, and a cached answer
    that quotes an overdue figure is left to Claude."""
    return {"JIWA_FACTS_REVIEW_DATE": FACTS_CHECKED_ON.isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 16, 64])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--claude-delay-s", type=float, default=0.0, help="Fake Claude's answer time; 0 answers at once."
    )
    parser.add_argument(
        "--open-rate", type=float, default=0.0, help="Also run open-loop Poisson arrivals at this rate per second."
    )
    parser.add_argument(
        "--no-insights",
        action="store_true",
        help="Publish nothing, so no message is embedded: the server's floor with any embedder.",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="With --open-rate: also start a server with nothing published (the no-embedding floor) and run the open "
        "loop on both in alternating rounds; reports both and the ratio of their overhead p99.",
    )
    parser.add_argument("--rounds", type=int, default=4, help="Alternating open-loop rounds with --floor.")
    parser.add_argument(
        "--embedding-cached",
        action="store_true",
        help="With --floor: a third loop, on the served server, sends each message as it is instead of unique (each "
        "embedded once before), so the server's embedding cache answers them: the served path without the query "
        "embedding's cost.",
    )
    parser.add_argument(
        "--cache-hits",
        action="store_true",
        help="Also publish the team's response cache; in the open loop one message in "
        f"{CACHE_SHARE} is one it answers, whose server-side total is reported apart.",
    )
    parser.add_argument("--insights-per-topic", type=int, default=4, help="Fake insights published per topic.")
    # The smoke run takes every path once: closed loop, and the open loops beside the floor with cache hits.
    args = parse(
        parser,
        concurrency=[2],
        requests=10,
        insights_per_topic=1,
        open_rate=20.0,
        floor=True,
        rounds=1,
        cache_hits=True,
        embedding_cached=True,
    )
    if args.embedding_cached and not (args.floor and args.open_rate):
        parser.error("--embedding-cached is a loop beside the floor's: give it with --floor and --open-rate")
    # Usage in words: the load generator shares the server's machine, and token counts would take CPU from it.
    fake = FakeAnthropic(counts_tokens=False).start()
    fake.delay_s = args.claude_delay_s
    servers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as empty:
        if not args.no_insights:
            publish_fake_insights(folder, args.insights_per_topic)
        if args.cache_hits:
            publish_team_cache(pipeline_resources(folder))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            servers.append(
                start_server(
                    folder,
                    fake.url,
                    port,
                    "/health" if args.no_insights else "/ready",
                    **(cache_env() if args.cache_hits else {}),
                )
            )
            asyncio.run(load(url, 4, min(40, args.requests)))  # warm-up
            results = [asyncio.run(load(url, c, args.requests)) for c in args.concurrency]
            for result in results:
                result["claude_delay_s"] = args.claude_delay_s
            if args.open_rate and args.floor:
                floor_port = free_port()
                floor_url = f"http://127.0.0.1:{floor_port}"
                servers.append(start_server(empty, fake.url, floor_port, "/health"))
                asyncio.run(load(floor_url, 4, 40))  # warm-up
                open_result, floor_result, *cached = asyncio.run(
                    open_loop_beside_floor(
                        (url, servers[0].pid),
                        (floor_url, servers[1].pid),
                        args.open_rate,
                        args.requests,
                        args.rounds,
                        args.cache_hits,
                        args.embedding_cached,
                    )
                )
                for result in (open_result, *cached):
                    result["overhead_p99_over_floor"] = round(
                        result["server_overhead"]["p99_ms"] / floor_result["server_overhead"]["p99_ms"], 2
                    )
                for result in (open_result, floor_result, *cached):
                    result["claude_delay_s"] = args.claude_delay_s
                    print(f"open loop, {LOOP_NAMES[result['loop']]}:", result)
                results += [open_result, floor_result, *cached]
            elif args.open_rate:
                open_result = asyncio.run(
                    open_loop(url, servers[0].pid, args.open_rate, args.requests, args.cache_hits)
                )
                open_result["claude_delay_s"] = args.claude_delay_s
                print("open loop:", open_result)
                results.append(open_result)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)
            fake.stop()
    print(
        "| concurrency | req/s | overhead p50/p99 ms | retrieval p50/p99 | overhead w/o retrieval p50/p99 | persist_user p99 "
        "| responder p50 | client p50/p99 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        if "concurrency" not in r:
            continue
        print(
            f"| {r['concurrency']} | {r['requests_per_s']} | {r['server_overhead']['p50_ms']}/{r['server_overhead']['p99_ms']} | "
            f"{r['stages']['retrieval']['p50_ms']}/{r['stages']['retrieval']['p99_ms']} | "
            f"{r['overhead_without_retrieval']['p50_ms']}/{r['overhead_without_retrieval']['p99_ms']} | "
            f"{r['stages']['persist_user']['p99_ms']} | {r['responder']['p50_ms']} | "
            f"{r['client_latency']['p50_ms']}/{r['client_latency']['p99_ms']} |"
        )
    open_results = [r for r in results if "arrival_rate_per_s" in r]
    if open_results:
        print(
            "\n| open loop | overhead p50/p99 ms | retrieval p50/p99 | overhead w/o retrieval p50/p99 | p99 / floor p99 "
            "| cache hits | cache-hit total p50/p99 ms | CPU ms a request: server, load generator "
            "| server GC pauses in the loop: all ms, full collections (mean ms) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in open_results:
            name = LOOP_NAMES[r["loop"]]
            hits = f"{r['cache_hits']}/{r['cache_messages']}" if "cache_messages" in r else ""
            hit_total = r.get("cache_hit_total") or {}
            print(
                f"| {name} {r['arrival_rate_per_s']:g}/s "
                f"| {r['server_overhead']['p50_ms']}/{r['server_overhead']['p99_ms']} "
                f"| {r['retrieval']['p50_ms']}/{r['retrieval']['p99_ms']} "
                f"| {r['overhead_without_retrieval']['p50_ms']}/{r['overhead_without_retrieval']['p99_ms']} "
                f"| {r.get('overhead_p99_over_floor', '')} | {hits} "
                f"| {hit_total.get('p50_ms', '')}/{hit_total.get('p99_ms', '')} "
                f"| {r['server_cpu_ms_per_request']}, {r['generator_cpu_ms_per_request']} "
                f"| {r.get('gc_pause_ms_total', '')}, {r.get('gc_full_collections', '')} "
                f"({r.get('gc_full_pause_ms_mean', '')}) |"
            )
    variant = f"-delay{args.claude_delay_s:g}" if args.claude_delay_s else ""
    variant += "-int8" if os.environ.get("JIWA_EMBEDDING_INT8", "").lower() in ("1", "true") else ""
    variant += "-no-insights" if args.no_insights else ""
    variant += "-floor" if args.floor and args.open_rate else ""
    variant += "-cache-hits" if args.cache_hits else ""
    variant += "-embedding-cached" if args.embedding_cached else ""
    print("saved", save(f"server_load{variant}", {"results": results}))


if __name__ == "__main__":
    main()
