"""Retrieval latency at 1k, 10k and 100k rows: Jiwa's hybrid and vector search beside brute-force numpy over the same vectors.

Vectors are clustered synthetic unit vectors of the embedder's dimension (embedding 100k real texts on 2 cores
would dominate the run); query text is drawn from the same vocabulary as the rows, so full-text search has work to do.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from bench.common import parse, percentiles_ms, save
from jiwa.embedding import EmbedderSettings
from jiwa.settings import KnowledgeSettings
from jiwa.store.insights import search_insights
from jiwa.store.lance import connect, refresh_indexes, upsert
from jiwa.store.memory_index import MemoryIndex
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema

DIMENSION = 384
WORDS = "malu maaf sungkan permisi gengsi visa kitas kitap nyepi banjar galungan bapak ibu jam karet agent cost tax office".split()


def synthetic_rows(count: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    centers = rng.normal(size=(max(8, count // 100), DIMENSION)).astype(np.float32)
    vectors = centers[rng.integers(0, len(centers), count)] + 0.35 * rng.normal(size=(count, DIMENSION)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC)
    texts = [" ".join(rng.choice(WORDS, 8)) for _ in range(count)]
    columns = {
        "id": [f"row-{i}" for i in range(count)],
        "topic_id": [f"t{i % 60}" for i in range(count)],
        "topic": [f"topic {i % 60}" for i in range(count)],
        "category": [f"c{i % 4}" for i in range(count)],
        "insight": texts,
        "guidance": texts,
        "triggers_id": [[t] for t in texts],
        "triggers_en": [[t] for t in texts],
        "triggers_it": [[t] for t in texts],
        "tone_tags": [["warm"]] * count,
        "search_text": texts,
        "source": ["llama_offline"] * count,
        "model": ["bench"] * count,
        "prompt_name": ["bench"] * count,
        "prompt_version": ["0"] * count,
        "generated_at": [now] * count,
        "run_id": ["bench"] * count,
        "source_date": [None] * count,
        "source_conversations": [[]] * count,
        "vector": list(vectors),
    }
    schema = insights_schema("bench-synthetic", DIMENSION)
    return pa.Table.from_pydict(columns, schema=schema), vectors


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def run(sizes: list[int], queries: int, k: int) -> dict:
    rng = np.random.default_rng(7)
    settings = KnowledgeSettings()
    # The query's embedding, which the server computes before it searches: timed beside the search itself.
    embedder = EmbedderSettings().open()
    embedder.embed(["warm up"])
    results = []
    for size in sizes:
        rows, vectors = synthetic_rows(size, rng)
        with tempfile.TemporaryDirectory() as folder:
            db = connect(folder)
            started = time.perf_counter()
            table = upsert(db, INSIGHTS_TABLE, rows.schema, rows)
            refresh_indexes(table, text_column="search_text", vector_min_rows=settings.vector_index_min_rows)
            build_s = time.perf_counter() - started
            query_ids = rng.integers(0, size, queries)
            query_vectors = vectors[query_ids] + 0.05 * rng.normal(size=(queries, DIMENSION)).astype(np.float32)
            query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
            query_texts = [" ".join(rng.choice(WORDS, 4)) for _ in range(queries)]
            memory = MemoryIndex.from_table(table)
            for i in range(5):  # warm caches and the index before timing
                search_insights(table, query_vectors[i], query_texts[i], k)
                memory.search(query_vectors[i], query_texts[i], k)

            timings: dict[str, list[float]] = {
                "hybrid": [],
                "vector": [],
                "numpy": [],
                "server_memory_hybrid": [],
                "query_embedding": [],
            }
            recall_hits = 0
            id_order = np.asarray(rows.column("id").to_pylist())
            for vector, text in zip(query_vectors, query_texts, strict=True):
                t0 = time.perf_counter()
                search_insights(table, vector, text, k)
                t1 = time.perf_counter()
                found = search_insights(table, vector, "", k)
                t2 = time.perf_counter()
                exact = brute_force(vectors, vector, k)
                t3 = time.perf_counter()
                memory.search(vector, text, k)
                t4 = time.perf_counter()
                embedder.embed([f"{text} {size}"])  # a text not embedded before
                timings["query_embedding"].append(time.perf_counter() - t4)
                timings["server_memory_hybrid"].append(t4 - t3)
                timings["hybrid"].append(t1 - t0)
                timings["vector"].append(t2 - t1)
                timings["numpy"].append(t3 - t2)
                recall_hits += len({hit.id for hit in found} & set(id_order[exact]))
            indexed = sorted({c for index in table.list_indices() for c in index.columns})
        stats = {name: percentiles_ms(samples) for name, samples in timings.items()}
        entry: dict[str, object] = {
            "rows": size,
            "indexes": indexed,
            "build_s": round(build_s, 2),
            "recall_at_k_vector_vs_exact": round(recall_hits / (queries * k), 4),
            **{f"{name}_{stat}": value for name, by_stat in stats.items() for stat, value in by_stat.items()},
            "vector_p50_over_numpy_p50": round(stats["vector"]["p50_ms"] / stats["numpy"]["p50_ms"], 2),
        }
        results.append(entry)
        print(entry, flush=True)
    return {"k": k, "queries": queries, "dimension": DIMENSION, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=5)
    args = parse(parser, sizes=[300], queries=5)
    report = run(args.sizes, args.queries, args.k)
    print(
        "\n| rows | indexes | lance hybrid p50/p99 ms | lance vector p50/p99 ms | server in-memory hybrid p50/p99 ms "
        "| numpy brute force p50/p99 ms | query embedding p50/p99 ms | lance vector recall@k |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in report["results"]:
        print(
            f"| {r['rows']} | {', '.join(r['indexes'])} | {r['hybrid_p50_ms']}/{r['hybrid_p99_ms']} | "
            f"{r['vector_p50_ms']}/{r['vector_p99_ms']} | {r['server_memory_hybrid_p50_ms']}/{r['server_memory_hybrid_p99_ms']} | "
            f"{r['numpy_p50_ms']}/{r['numpy_p99_ms']} | {r['query_embedding_p50_ms']}/{r['query_embedding_p99_ms']} | "
            f"{r['recall_at_k_vector_vs_exact']} |"
        )
    print("saved", save("retrieval", report))


if __name__ == "__main__":
    main()
