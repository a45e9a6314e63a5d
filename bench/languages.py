"""Retrieval in the users' three languages, and the cost of a query embedding: the default multilingual encoder
beside all-MiniLM-L6-v2, in the same run.

For each embedder the curated base is published into a fresh store, then the team's evaluation set
(tests/data/retrieval_eval.yaml) is scored through the server's retrieval step: hit@4 (an acceptable topic among
the four insights the server passes to the responder) and MRR, per language. Query embedding is timed one message
at a time (what a lone request pays) and in batches of 64 (what the server's micro-batching pays per message under load).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import dagster as dg
import lancedb

from assets.knowledge import cultural_topics, curated_insights
from assets.resources import EmbedderResource
from bench.common import parse, percentiles_ms, save
from bench.support.resources import pipeline_resources
from bench.support.retrieval_eval import load_questions, score
from jiwa.embedding import MINILM, USE_MULTILINGUAL, Embedder
from jiwa.store.memory_index import MemoryIndex
from jiwa.store.schema import INSIGHTS_TABLE


def _quality(model_path: str) -> dict:
    data_uri = tempfile.mkdtemp(prefix="jiwa-bench-languages-")
    resources = dict(pipeline_resources(data_uri), embedder=EmbedderResource(model_path=model_path, int8=False))
    dg.materialize([cultural_topics, curated_insights], resources=resources, instance=dg.DagsterInstance.ephemeral())
    index = MemoryIndex.from_table(lancedb.connect(data_uri).open_table(INSIGHTS_TABLE))
    return score(index, Embedder(model_path), load_questions())


def _latency(embedder: Embedder, messages: list[str], repeat: int) -> dict:
    single = []
    for _ in range(repeat):
        for message in messages:
            started = time.perf_counter()
            embedder.embed([message])
            single.append(time.perf_counter() - started)
    batched = []
    for _ in range(repeat):
        for start in range(0, len(messages), 64):
            chunk = messages[start : start + 64]
            started = time.perf_counter()
            embedder.embed(chunk)
            batched.append((time.perf_counter() - started) / len(chunk))
    return {"single": percentiles_ms(single), "batched_64_per_message": percentiles_ms(batched)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Passes over the questions for the latency figures.")
    parser.add_argument(
        "--embedders", nargs="+", default=[USE_MULTILINGUAL, MINILM], choices=[USE_MULTILINGUAL, MINILM]
    )
    args = parse(parser, repeat=1, embedders=[USE_MULTILINGUAL])
    messages = [question["text"] for question in load_questions()]
    measured: dict[str, dict[str, dict]] = {}
    for name, model_path in ((n, p) for n, p in ((USE_MULTILINGUAL, ""), (MINILM, MINILM)) if n in args.embedders):
        embedder = Embedder(model_path)
        embedder.embed(messages[:8])  # warm up
        measured[name] = {
            "retrieval": _quality(model_path),
            "query_embedding": _latency(embedder, messages, args.repeat),
        }
    print("| embedder | language | hit@4 | MRR | query p50/p99 ms (single) | per message p50 ms (batch of 64) |")
    print("|---|---|---|---|---|---|")
    for name in args.embedders:
        latency = measured[name]["query_embedding"]
        for lang, figures in measured[name]["retrieval"].items():
            print(
                f"| {name} | {lang} | {figures['hit@4']:.3f} | {figures['mrr']:.3f} | "
                f"{latency['single']['p50_ms']}/{latency['single']['p99_ms']} | "
                f"{latency['batched_64_per_message']['p50_ms']} |"
            )
    save("languages", {"questions": len(messages), **measured})


if __name__ == "__main__":
    main()
