"""Which insights ground a reply: hit@4 and precision per language on the team's evaluation set, with every fused hit
sent (before the relevance bounds) beside the served bounds, and a sweep to re-tune them for another embedder.

    python -m bench.retrieval_quality [--sweep]
"""

from __future__ import annotations

import argparse
import tempfile

import dagster as dg
import lancedb

from assets.knowledge import cultural_topics, curated_insights
from bench.common import parse, save
from bench.support.resources import pipeline_resources, session_embedder
from bench.support.retrieval_eval import load_questions, score
from jiwa.settings import Settings
from jiwa.store.memory_index import MemoryIndex, Relevance
from jiwa.store.schema import INSIGHTS_TABLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", action="store_true", help="also score a grid of bounds")
    args = parse(parser)
    with tempfile.TemporaryDirectory() as data_uri:
        dg.materialize(
            [cultural_topics, curated_insights],
            resources=pipeline_resources(data_uri),
            instance=dg.DagsterInstance.ephemeral(),
        )
        index = MemoryIndex.from_table(lancedb.connect(data_uri).open_table(INSIGHTS_TABLE))
        embedder, questions = session_embedder(), load_questions()
        settings = Settings()
        served = Relevance(settings.retrieval_min_similarity, settings.retrieval_max_gap)
        scores = {
            "every_hit": score(index, embedder, questions),
            "served": {"bounds": served.__dict__, **score(index, embedder, questions, relevance=served)},
        }
        report: dict[str, object] = {"embedder": embedder.model_name, **scores}
        if args.sweep:
            report["sweep"] = [
                {"bounds": bounds.__dict__, **score(index, embedder, questions, relevance=bounds)}
                for bounds in (
                    Relevance(floor, gap) for floor in (0.2, 0.25, 0.3, 0.35) for gap in (0.05, 0.1, 0.13, 0.15, 2.0)
                )
            ]
    for label in ("every_hit", "served"):
        print(label, {lang: scores[label][lang] for lang in ("en", "it", "id")})
    print("saved", save("retrieval_quality", report))


if __name__ == "__main__":
    main()
