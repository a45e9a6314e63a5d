"""Load on the started chat server with a fake Claude that answers at once: requests/s and the server's own overhead.

The server runs as its own process (`python -m serving`) over a data folder with a published insight table; the
fake Messages API and the load generator share this process. Overhead is the server's total time for a turn
minus the responder's, as the server reports it in timings_ms; the stages are reported the same way.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

from bench.common import parse, percentiles_ms, save
from bench.support.fake_anthropic import FakeAnthropic
from bench.support.publish import publish_fake_insights
from serving.auth import hash_key

MESSAGES = [
    "aku malu bertanya tentang visa",
    "Quanto costa il KITAS?",
    "How do I open a PT PMA?",
    "Apa itu NPWP?",
    "My agent is late again, is that normal?",
    "Cosa succede durante Nyepi?",
    "Berapa lama proses KITAS?",
    "Do I need a local partner for my cafe?",
    "Sono stanco della burocrazia",
    "What is the banjar?",
]
KEY = "bench-key"


def start_server(data_uri: str, claude_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": "bench",
        "JIWA_DATA_URI": data_uri,
        "JIWA_PORT": str(port),
        "JIWA_ANTHROPIC_BASE_URL": claude_url,
        "JIWA_LOCAL_RESPONDER": "false",
        "JIWA_RATE_LIMIT_PER_MINUTE": "1000000",
        "JIWA_API_KEYS": f"bench=sha256:{hash_key(KEY)}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


async def open_loop(url: str, rate: float, total: int) -> dict:
    """Poisson arrivals at `rate` per second, as real users arrive, instead of clients waiting on each other."""
    rng = np.random.default_rng(3)
    timings: list[dict] = []
    latency: list[float] = []

    async def one(client: httpx.AsyncClient, n: int) -> None:
        body = {"user_id": f"open{n % 50}", "message": f"{MESSAGES[n % len(MESSAGES)]} (open-{rate}-{n})"}
        started = time.perf_counter()
        response = await client.post("/v1/chat", json=body, headers={"Authorization": f"Bearer {KEY}"})
        latency.append(time.perf_counter() - started)
        if response.status_code == 200:
            timings.append(response.json()["timings_ms"])

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=256)) as client:
        tasks = []
        for n in range(total):
            tasks.append(asyncio.create_task(one(client, n)))
            await asyncio.sleep(float(rng.exponential(1 / rate)))
        await asyncio.gather(*tasks)
    return {
        "arrival_rate_per_s": rate,
        "requests": total,
        "ok": len(timings),
        "server_overhead": percentiles_ms([(t["total"] - t.get("responder", 0.0)) / 1000 for t in timings]),
        "retrieval": percentiles_ms([t.get("retrieval", 0.0) / 1000 for t in timings]),
        "overhead_without_retrieval": percentiles_ms(
            [(t["total"] - t.get("responder", 0.0) - t.get("retrieval", 0.0)) / 1000 for t in timings]
        ),
        "responder": percentiles_ms([t.get("responder", 0.0) / 1000 for t in timings]),
        "client_latency": percentiles_ms(latency),
    }


async def load(url: str, concurrency: int, total: int) -> dict:
    timings: list[dict] = []
    client_latency: list[float] = []
    errors = ungrounded = 0
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient, index: int) -> None:
        nonlocal errors, ungrounded
        for n in counter:
            # Unique text per request, so the server's embedding cache never hides the embedding cost.
            body = {
                "user_id": f"bench{index}-{n % 7}",
                "message": f"{MESSAGES[n % len(MESSAGES)]} ({concurrency}-{index}-{n})",
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
    parser.add_argument("--insights-per-topic", type=int, default=4, help="Fake insights published per topic.")
    args = parse(parser, concurrency=[2], requests=10, insights_per_topic=1)
    fake = FakeAnthropic().start()
    fake.delay_s = args.claude_delay_s
    with tempfile.TemporaryDirectory() as folder:
        if not args.no_insights:
            publish_fake_insights(folder, args.insights_per_topic)
        port = fake.port + 1 if fake.port < 65000 else 20000
        server = start_server(folder, fake.url, port)
        try:
            asyncio.run(load(f"http://127.0.0.1:{port}", 4, min(40, args.requests)))  # warm-up
            results = [asyncio.run(load(f"http://127.0.0.1:{port}", c, args.requests)) for c in args.concurrency]
            for result in results:
                result["claude_delay_s"] = args.claude_delay_s
            if args.open_rate:
                open_result = asyncio.run(open_loop(f"http://127.0.0.1:{port}", args.open_rate, args.requests))
                open_result["claude_delay_s"] = args.claude_delay_s
                print("open loop:", open_result)
                results.append(open_result)
        finally:
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
    variant = f"-delay{args.claude_delay_s:g}" if args.claude_delay_s else ""
    variant += "-int8" if os.environ.get("JIWA_EMBEDDING_INT8", "").lower() in ("1", "true") else ""
    variant += "-no-insights" if args.no_insights else ""
    print("saved", save(f"server_load{variant}", {"results": results}))


if __name__ == "__main__":
    main()
