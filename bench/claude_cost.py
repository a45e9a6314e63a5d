"""What one Claude reply costs in input tokens, before and after the cultural primer rides in the cached prefix.

The chat server runs as its own process against the fake Messages API, which counts tokens with Jiwa's local
tokenizer and caches a prefix as Anthropic does (bench/support/fake_anthropic.py). The same turns are sent twice:
with the curated base alone (the rules carry the breakpoint, too short to be cached), then with the primer
published. Costs use the server's configured prices (JIWA_CLAUDE_INPUT_USD_PER_MTOK, ..._OUTPUT_...) and the
cache's: reads 0.1x the input price, 1-hour writes 2x. The fake's reply text is not Claude's, so output tokens
say nothing; the input side is what the primer changes.
"""

from __future__ import annotations

import argparse
import tempfile

import dagster as dg
import httpx

from bench.common import parse, save
from bench.server_load import KEY, MESSAGES, start_server
from bench.support.fake_anthropic import FakeAnthropic, free_port
from jiwa.claude_cache import CACHE_READ_PRICE, CACHE_WRITE_PRICE
from jiwa.settings import Settings

KINDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


def publish(data_uri: str, *, primer: bool) -> None:
    from assets.knowledge import cultural_primer, cultural_topics, curated_insights
    from bench.support.resources import pipeline_resources

    assets = [cultural_topics, curated_insights, cultural_primer] if primer else [cultural_topics, curated_insights]
    assert dg.materialize(assets, resources=pipeline_resources(data_uri)).success


def chat(url: str, turns: int) -> None:
    """Two turns per conversation, so the later ones carry history as real ones do."""
    conversation = None
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for n in range(turns):
            body = {"user_id": f"cost{n // 2}", "message": MESSAGES[n % len(MESSAGES)]}
            if n % 2 and conversation:
                body["conversation_id"] = conversation
            answer = client.post("/v1/chat", json=body).json()
            assert answer["source"] == "claude", answer
            conversation = answer["conversation_id"]


def priced(usage: dict, settings: Settings) -> dict:
    price = settings.claude_input_usd_per_mtok / 1e6
    full = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    input_usd = price * (
        usage["input_tokens"]
        + CACHE_READ_PRICE * usage["cache_read_input_tokens"]
        + CACHE_WRITE_PRICE[settings.claude_cache_ttl] * usage["cache_creation_input_tokens"]
    )
    return {"prompt_tokens": full, "input_usd": input_usd, "uncached_input_usd": price * full}


def summary(usages: list[dict], settings: Settings) -> dict:
    costs = [priced(usage, settings) for usage in usages]
    mean = lambda values: round(sum(values) / len(values), 7)  # noqa: E731
    steady = costs[1:] or costs  # after the first reply, which writes the cache
    return {
        "replies": len(usages),
        **{f"mean_{kind}": mean([usage[kind] for usage in usages]) for kind in KINDS},
        "mean_prompt_tokens": mean([cost["prompt_tokens"] for cost in costs]),
        "mean_input_usd": mean([cost["input_usd"] for cost in costs]),
        "steady_input_usd_per_reply": mean([cost["input_usd"] for cost in steady]),
        "first_reply_input_usd": round(costs[0]["input_usd"], 7),
        "same_prompt_uncached_input_usd_per_reply": mean([cost["uncached_input_usd"] for cost in costs]),
    }


def run(turns: int) -> dict:
    settings = Settings()
    fake = FakeAnthropic().start()
    phases = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            data_uri = f"{folder}/stores"
            publish(data_uri, primer=False)
            for phase in ("before", "after"):
                if phase == "after":
                    publish(data_uri, primer=True)
                fake.usages.clear()
                port = free_port()
                server = start_server(data_uri, fake.url, port)
                try:
                    chat(f"http://127.0.0.1:{port}", turns)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                phases[phase] = summary(list(fake.usages), settings)
    finally:
        fake.stop()
    return {
        "model": settings.claude_model,
        "input_usd_per_mtok": settings.claude_input_usd_per_mtok,
        "cache_ttl": settings.claude_cache_ttl,
        "tokenizer": "local estimate (jiwa.claude_cache), not Claude's",
        **phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=10, help="Chat turns per phase, two per conversation.")
    args = parse(parser, turns=2)
    result = run(args.turns)
    for phase in ("before", "after"):
        row = result[phase]
        print(
            f"{phase:6}  prompt {row['mean_prompt_tokens']:7.0f} tok/reply  billed in full {row['mean_input_tokens']:6.0f}"
            f"  read {row['mean_cache_read_input_tokens']:6.0f}  written {row['mean_cache_creation_input_tokens']:6.0f}"
            f"  input ${row['steady_input_usd_per_reply']:.6f}/reply after the first"
            f" (first ${row['first_reply_input_usd']:.6f}; uncached ${row['same_prompt_uncached_input_usd_per_reply']:.6f})"
        )
    print(save("claude_cost", result))


if __name__ == "__main__":
    main()
