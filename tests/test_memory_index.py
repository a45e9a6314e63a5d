"""The server's in-memory hybrid index agrees with exact search and finds keyword matches."""

import numpy as np
import pytest

from jiwa.store.memory_index import MemoryIndex


def _index(texts, vectors):
    records = [
        {
            "id": f"r{i}",
            "topic": f"t{i}",
            "category": "c",
            "insight": text,
            "guidance": "g",
            "tone_tags": ["warm"],
            "search_text": text,
        }
        for i, text in enumerate(texts)
    ]
    return MemoryIndex(records, np.asarray(vectors, dtype=np.float32), version=3)


def test_vector_and_keyword_rankings_are_fused():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"filler words {i}" for i in range(50)]
    texts[7] = "nyepi day of silence airport closed"
    index = _index(texts, vectors)
    by_vector = index.search(vectors[12], "", k=1)
    assert by_vector[0].id == "r12"
    by_both = index.search(vectors[7], "is the airport closed on nyepi", k=3)
    assert by_both[0].id == "r7" and by_both[0].score > by_both[1].score


@pytest.mark.parametrize("size", [1, 5, 200])
def test_top_k_never_exceeds_rows_and_matches_exact_order(size):
    rng = np.random.default_rng(size)
    vectors = rng.normal(size=(size, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = _index([f"text {i}" for i in range(size)], vectors)
    query = vectors[0]
    hits = index.search(query, "", k=10)
    assert len(hits) == min(10, size)
    exact = [f"r{i}" for i in np.argsort(-(vectors @ query))[: len(hits)]]
    assert [hit.id for hit in hits] == exact


def test_empty_index_returns_nothing():
    assert _index([], np.zeros((0, 4))).search(np.ones(4, np.float32), "hi", k=3) == []


def test_only_the_curated_base_and_vetted_rows_are_served(tmp_path):
    from tests.support.insights import insights_table

    table = insights_table(str(tmp_path), ("curated", "llama_offline", "llama_nightly"))
    index = MemoryIndex.from_table(table)
    assert index.size == 2
    from jiwa.store.insights import search_insights

    direct = search_insights(table, np.asarray([1.0, 0, 0, 0], dtype=np.float32), "", k=5)
    assert {hit.id for hit in direct} == {"curated", "llama_offline"}
    assert {hit.id for hit in index.search(np.asarray([1.0, 0, 0, 0], dtype=np.float32), "insight", k=5)} == {
        "curated",
        "llama_offline",
    }


def test_one_insight_per_topic_so_the_responder_sees_several_topics():
    vectors = np.asarray([[1.0, 0.0], [0.99, 0.14], [0.6, 0.8]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [
        {
            "id": f"r{i}",
            "topic": topic,
            "category": "c",
            "insight": "x",
            "guidance": "g",
            "tone_tags": [],
            "search_text": "x",
        }
        for i, topic in enumerate(["maaf", "maaf", "permisi"])
    ]
    hits = MemoryIndex(records, vectors, version=1).search(np.asarray([1.0, 0.0], dtype=np.float32), "", k=2)
    assert [hit.topic for hit in hits] == ["maaf", "permisi"]
