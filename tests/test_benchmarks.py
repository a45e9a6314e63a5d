"""Benchmarks that cannot rot: every module of bench/ runs in its smoke mode (`python -m bench.<name> --smoke`: the
same code at its smallest, in seconds) in a child process, as `make bench` runs it, and writes its results file, so a
benchmark that breaks fails the tests. Those that need the real model are marked `model`."""

import asyncio
import json
import os
import re
import subprocess
import sys

import pytest

from bench import common
from bench.server_load import CACHE_MESSAGES, MESSAGES, unique
from bench.support.fake_anthropic import FakeAnthropic
from bench.support.publish import FACTS_CHECKED_ON, publish_team_cache
from bench.support.resources import pipeline_resources
from jiwa.catalogue.languages import closest_language
from jiwa.claude_cache import count_tokens
from jiwa.domain.language import reply_language
from jiwa.paths import PROJECT_ROOT
from serving.insights import QueryEmbedder
from serving.response_cache import ResponseCache
from serving.withheld import Withheld

BENCH = PROJECT_ROOT / "bench"
BENCHMARKS = sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in ("__init__", "common"))
# The real SmolLM2 through llama.cpp: analyses, insights, the nightly findings, a local reply, the builds' rates.
NEEDS_MODEL = {"analysis", "first_answer", "generation", "llama_builds", "llama_contention", "nightly"}


def _smoke(name: str, tmp_path) -> dict:
    results = tmp_path / "results"
    env = {
        **os.environ,
        common.RESULTS_ENV: str(results),
        # A data folder of its own: no benchmark reads or writes the developer's.
        "JIWA_DATA_URI": str(tmp_path / "data"),
        "JIWA_LLM_MAX_RETRIES": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--smoke"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    written = sorted(results.glob(f"{name}*.json"))
    assert written, f"bench.{name} --smoke wrote no results file"
    report = json.loads(written[0].read_text())
    assert report["smoke"] is True
    return report


@pytest.mark.parametrize("name", sorted(set(BENCHMARKS) - NEEDS_MODEL))
def test_a_benchmark_runs_at_its_smallest_and_writes_its_results(name, tmp_path):
    report = _smoke(name, tmp_path)
    if name == "server_load":
        # Each loop's pauses for garbage collection, read from its server's /metrics (the benchmark stops if a
        # server has none there): a tail one caused is seen.
        open_loops = [r for r in report["results"] if "arrival_rate_per_s" in r]
        assert [r["loop"] for r in open_loops] == ["served", "floor", "embedding_cached"]
        assert all(r["gc_pause_ms_total"] >= 0 and r["gc_full_collections"] >= 0 for r in open_loops)
        # The loop that repeats its messages is answered too, and set beside the floor.
        cached = open_loops[2]
        assert cached["ok"] == cached["requests"] and cached["overhead_p99_over_floor"] > 0


@pytest.mark.model
@pytest.mark.parametrize("name", sorted(NEEDS_MODEL))
def test_a_model_benchmark_runs_at_its_smallest_and_writes_its_results(name, tmp_path):
    report = _smoke(name, tmp_path)
    if name == "generation":
        assert report["raw_tokens_per_s"] > 0 and "jiwa_over_raw" in report
        assert report["raw_at_prompt_depth_tokens_per_s"] > 0 and "jiwa_over_raw_at_prompt_depth" in report
        # The smoke run also writes its round with the whole output under one grammar, for the side-by-side ratio.
        assert report["whole_grammar_tokens_per_s"] > 0 and report["completion_tokens_batched"] > 0
    if name == "llama_builds":
        assert list(report["builds"]) == ["installed"]  # measured what is there, compiled nothing


def test_every_model_benchmark_is_a_module_of_bench():
    assert NEEDS_MODEL <= set(BENCHMARKS)


def _make_bench_list() -> list[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    match = re.search(r"^BENCHMARKS := ((?:.*\\\n)*.*)$", text, flags=re.MULTILINE)
    return match.group(1).replace("\\\n", " ").split()


def test_make_bench_runs_every_benchmark_once_and_passes_bench_args():
    assert sorted(_make_bench_list()) == BENCHMARKS
    assert "$(BIN)/python -m bench.$$name $(BENCH_ARGS)" in (PROJECT_ROOT / "Makefile").read_text()


def test_make_bench_runs_model_free_ones_first_and_compiles_llama_cpp_last():
    order = _make_bench_list()
    assert max(order.index(name) for name in set(order) - NEEDS_MODEL) < min(order.index(name) for name in NEEDS_MODEL)
    assert order[-1] == "llama_builds"


def test_the_readme_names_every_benchmark():
    section = (PROJECT_ROOT / "README.md").read_text().split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"-m bench\.(\w+)", section)) == set(BENCHMARKS)


def test_smoke_results_go_apart_from_the_real_ones(tmp_path, monkeypatch):
    import argparse

    assert common.RESULTS_DIR == BENCH / "results" and common.SMOKE_RESULTS_DIR == BENCH / "results" / "smoke"
    monkeypatch.delenv(common.RESULTS_ENV, raising=False)
    # parse() sets the module's smoke flag: patched first, so that teardown puts back the value before the test.
    monkeypatch.setattr(common, "_smoke", False)
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(common, "SMOKE_RESULTS_DIR", tmp_path / "smoke")
    for argv, size, folder in (([], 10, tmp_path), (["--smoke"], 1, tmp_path / "smoke")):
        monkeypatch.setattr(sys, "argv", ["bench", *argv])
        parser = argparse.ArgumentParser()
        parser.add_argument("--size", type=int, default=10)
        assert common.parse(parser, size=1).size == size
        assert common.save("x", {}) == folder / "x.json"
    # Arguments given on the command line still win over the smallest defaults.
    monkeypatch.setattr(sys, "argv", ["bench", "--smoke", "--size", "3"])
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10)
    assert common.parse(parser, size=1).size == 3


def test_the_load_benchmark_sends_what_it_says_to_the_responder_and_to_the_cache(embedder, tmp_path):
    """bench.server_load measures the responder's path with MESSAGES and the cache's with CACHE_MESSAGES, each made
    unique per request; a message the cache answered, or a tag whose word the cache's rules read ("open"), would
    measure one path under the other's name."""
    data_uri = str(tmp_path / "stores")
    publish_team_cache(pipeline_resources(data_uri))
    cache = ResponseCache(data_uri, embedder, QueryEmbedder(embedder), Withheld(data_uri), FACTS_CHECKED_ON)
    cache.refresh()

    async def served(text: str) -> bool:
        language = reply_language(None, text, closest=closest_language)
        return language is not None and await cache.lookup(text, language, None, ("bench", "user")) is not None

    async def every(texts: list[str]) -> list[bool]:
        return [await served(unique(text, 50.0, 3, n)) for n, text in enumerate(texts)]

    assert asyncio.run(every(MESSAGES)) == [False] * len(MESSAGES)
    assert asyncio.run(every(CACHE_MESSAGES)) == [True] * len(CACHE_MESSAGES)


def test_the_load_benchmarks_fake_claude_counts_usage_in_words():
    """What the README says of bench.server_load's fake Claude: usage in words, not the tokenizer's tokens, so that
    the load generator leaves the CPU to the server; the cost benchmark's fake still counts tokens."""
    body = {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "Rules of Jiwa for Bali"}],
        "messages": [{"role": "user", "content": "berapa biaya KITAS?"}],
    }
    in_words = FakeAnthropic(counts_tokens=False).usage(body, "Halo! It costs about this much")
    assert (in_words["input_tokens"], in_words["output_tokens"]) == (5 + 3, 6)
    in_tokens = FakeAnthropic().usage(body, "Halo! It costs about this much")
    assert in_tokens["output_tokens"] == count_tokens("Halo! It costs about this much") != 6
