"""Questions asked often in one day and not answered from the cache, proposed to the team as new intents."""

from pathlib import Path

import dagster as dg
import numpy as np
from pydantic import Field

from assets.nightly.days import bali_day_window, nightly_partitions
from assets.previews import markdown_table
from assets.resources import EmbedderResource, StoresResource
from assets.versions import configured_embedder
from jiwa import clustering
from jiwa.clustering import greedy_clusters
from jiwa.intent_matching import TermFinder
from jiwa.store.cache import published_matcher_spec
from jiwa.versions import code_version


class ProposalConfig(dg.Config):
    min_cluster_size: int = Field(default=3, ge=2, description="Messages a question needs that day to be proposed.")
    similarity: float = Field(
        default=0.75, gt=0, le=1, description="Cosine similarity that puts two questions together."
    )


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"duckdb"},
    deps=["conversation_log", "common_response_cache"],
    code_version=code_version(Path(__file__), clustering, configured_embedder()),
    description="Questions asked often that day and not answered from the cache, clustered and proposed as new "
    "intents. Nothing here is served: an analyst accepts a proposal by adding it to assets/catalogue/intents.yaml.",
)
def proposed_intents(
    context: dg.AssetExecutionContext, config: ProposalConfig, embedder: EmbedderResource, stores: StoresResource
):
    start, end = bali_day_window(context.partition_key)
    rows = (
        stores.log_reader()
        .query(
            """
        SELECT u.content, u.user_id FROM events u
        JOIN events a ON a.conversation_id = u.conversation_id AND a.role = 'assistant' AND a.type = 'turn'
          AND a.created_at >= u.created_at
          AND NOT EXISTS (SELECT 1 FROM events m WHERE m.conversation_id = u.conversation_id AND m.role = 'user'
                          AND m.type = 'turn' AND m.created_at > u.created_at AND m.created_at <= a.created_at)
        WHERE u.type = 'turn' AND u.role = 'user' AND u.created_at >= ? AND u.created_at < ?
          AND coalesce(a.source, '') <> 'cache' AND length(u.content) <= 200
        """,
            [start, end],
        )
        .to_pylist()
    )
    questions = [row for row in rows if "?" in row["content"] or len(row["content"].split()) <= 12]
    vectors = embedder.embedder().embed([row["content"] for row in questions])
    clusters = greedy_clusters(vectors, config.similarity)
    spec = published_matcher_spec(stores.lance())
    finder = TermFinder(spec.terms) if spec else None
    proposals = []
    for members in clusters:
        users = {questions[i]["user_id"] for i in members}
        if len(members) < config.min_cluster_size or len(users) < 2:
            continue
        examples = [questions[i]["content"] for i in members]
        centre = vectors[members].mean(axis=0)
        representative = examples[int(np.argmax(vectors[members] @ centre))]
        proposals.append(
            {
                "representative": representative,
                "messages": len(members),
                "users": len(users),
                "examples": examples[:5],
                "term_groups": sorted(finder.groups(representative)) if finder else [],
            }
        )
    proposals.sort(key=lambda p: (-p["messages"], p["representative"]))
    return dg.MaterializeResult(
        metadata={
            "day": context.partition_key,
            "cache_missed_questions": len(questions),
            "proposals": len(proposals),
            "proposed": dg.MetadataValue.json(proposals[:20]),
            "preview": markdown_table(
                ["question", "messages", "users", "terms it uses", "to accept, add to intents.yaml"],
                (
                    [p["representative"], p["messages"], p["users"], ", ".join(p["term_groups"]), _intent_snippet(p)]
                    for p in proposals
                ),
                limit=10,
                empty="No question was frequent enough that day.",
            ),
        }
    )


def _intent_snippet(proposal: dict) -> str:
    return f'`new_intent: {{require: {proposal["term_groups"]}, phrasings: {{en: ["{proposal["representative"]}"]}}}}`'
