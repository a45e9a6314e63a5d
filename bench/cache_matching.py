"""Cache matching on the team's labelled evaluation set: hit rate and wrong-hit share by language, and the matching
step's own latency beside the query embedding, for Jiwa's matcher and for an embedding-only nearest-neighbour
matcher (GPTCache's approach) at several thresholds, in one run.

Phrasings come from the published common_response_cache table under JIWA_DATA_URI when there is one (the team's
seeds plus LLAMA's paraphrases), else from the team's seeds alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import parse, percentiles_ms, save
from bench.support.intent_eval import load_cases, score
from jiwa.catalogue.intents import load_facts, load_intents, seed_matcher
from jiwa.catalogue.matching import IntentMatcher, MatcherSpec
from jiwa.domain.language import LANGUAGES
from jiwa.domain.status import CACHE_NEAR_MISS, CACHE_PHRASING, CACHE_SPEC
from jiwa.embedding import Embedder
from jiwa.response_cache.followups import left_to_the_responder
from jiwa.settings import KnowledgeSettings, StoreSettings
from jiwa.store.lance import connect
from jiwa.store.schema import RESPONSE_CACHE_TABLE


def _matcher(embedder: Embedder) -> tuple[IntentMatcher, str]:
    db = connect(StoreSettings().data_uri)
    if RESPONSE_CACHE_TABLE in db.table_names():
        rows = db.open_table(RESPONSE_CACHE_TABLE).to_arrow().to_pylist()
        spec = MatcherSpec.from_json(next(r["text"] for r in rows if r["kind"] == CACHE_SPEC))
        phrasings = [r for r in rows if r["kind"] == CACHE_PHRASING]
        near_misses = [r["vector"] for r in rows if r["kind"] == CACHE_NEAR_MISS]
        matcher = IntentMatcher(
            spec,
            [r["intent"] for r in phrasings],
            np.asarray([r["vector"] for r in phrasings], dtype=np.float32),
            np.asarray(near_misses, dtype=np.float32) if near_misses else None,
        )
        return matcher, "published table"
    matcher = seed_matcher(load_intents(), embedder.embed, KnowledgeSettings().cache_min_similarity, load_facts())
    return matcher, "team seeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="Passes over the set for the latency figures.")
    args = parse(parser, repeat=1)
    embedder = Embedder()
    jiwa, origin = _matcher(embedder)
    spec, (intents, vectors) = jiwa.spec, jiwa.phrasings
    cases = load_cases()
    embed_seconds = []
    for case in cases:
        started = time.perf_counter()
        embedder.embed([case.message])
        embed_seconds.append(time.perf_counter() - started)
    queries = embedder.embed([case.message for case in cases])

    report = {
        "phrasings_from": origin,
        "phrasings": len(intents),
        "cases": len(cases),
        "positives": sum(c.intent is not None for c in cases),
        "query_embedding": percentiles_ms(embed_seconds),
    }
    timings = []
    for _ in range(args.repeat):
        result = score(lambda message, vector: jiwa.match(message, vector).intent, cases, queries)
        timings += result.match_seconds
    report["jiwa"] = _summary(result) | {"threshold": spec.min_similarity, "matching": percentiles_ms(timings)}

    def mid_conversation(message, vector):
        intent = jiwa.match(message, vector).intent
        return None if intent and left_to_the_responder(spec, intent, message) else intent

    # The same set asked inside a conversation, where the server leaves follow-ups to Claude.
    report["jiwa_mid_conversation"] = _summary(score(mid_conversation, cases, queries))

    labels = np.asarray(intents)
    for threshold in (0.6, 0.7, 0.8, 0.9):

        def nearest(message, vector, threshold=threshold):
            similarities = vectors @ vector
            best = int(np.argmax(similarities))
            return labels[best] if similarities[best] >= threshold else None

        timings = []
        for _ in range(args.repeat):
            result = score(nearest, cases, queries)
            timings += result.match_seconds
        report[f"embedding_only_{threshold}"] = _summary(result) | {"matching": percentiles_ms(timings)}

    for key, value in report.items():
        print(f"{key}: {value}")
    print("saved", save("cache_matching", report))


def _summary(result) -> dict:
    return {
        "hit_rate": round(result.hit_rate(), 3),
        "wrong_share": round(result.wrong_share(), 3),
        "by_language": {
            lang: {"hit_rate": round(result.hit_rate(lang), 3), "wrong_share": round(result.wrong_share(lang), 3)}
            for lang in LANGUAGES
        },
        "wrong_examples": result.wrong_examples[:3],
    }


if __name__ == "__main__":
    main()
