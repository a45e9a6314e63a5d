"""Questions asked often in one day and not answered from the cache, proposed to the team as new intents."""

from typing import NotRequired, TypedDict

import dagster as dg
import numpy as np
from pydantic import Field

from assets.nightly.days import bali_day_window, nightly_partitions
from assets.previews import markdown_table
from assets.resources import EmbedderResource, LearningResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.matching import TermFinder
from jiwa.domain.rows.intents import ProposalRow
from jiwa.forgetting import commit_user_rows
from jiwa.response_cache.clustering import greedy_clusters
from jiwa.store.cache import published_matcher_spec
from jiwa.store.lance import sql_literal
from jiwa.store.schema import PROPOSALS_TABLE, proposals_schema


class Proposal(TypedDict):
    """One proposed intent as the run's metadata shows it: counts and terms, never the users' words."""

    messages: int
    users: int
    term_groups: list[str]
    id: NotRequired[str]  # numbered once the day's proposals are sorted


class ProposalConfig(dg.Config):
    min_cluster_size: int = Field(default=3, ge=2, description="Messages a question needs that day to be proposed.")
    similarity: float = Field(
        default=0.75, gt=0, le=1, description="Cosine similarity that puts two questions together."
    )


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"duckdb", "lancedb"},
    deps=["conversation_log", "common_response_cache"],
    code_version=asset_code_version(__name__, embedder=True),
    description="Questions asked often that day by several users and not answered from the cache, clustered and "
    "proposed as new intents. The questions themselves are user data: they wait in the intent_proposals table, "
    "forgotten with their users; the metadata shows counts and the terms they use. Nothing here is served: an "
    "analyst accepts, edits or rejects a proposal with the review_intent_proposal job.",
)
def proposed_intents(
    context: dg.AssetExecutionContext,
    config: ProposalConfig,
    embedder: EmbedderResource,
    stores: StoresResource,
    learning: LearningResource,
):
    day = context.partition_key
    start, end = bali_day_window(day)
    reader = stores.event_reader()
    rows = reader.query(
        """
        SELECT u.message_id, u.tenant, u.user_id, u.content, u.created_at FROM events u
        JOIN events a ON a.conversation_id = u.conversation_id AND a.role = 'assistant' AND a.type = 'turn'
          AND a.created_at >= u.created_at
          AND NOT EXISTS (SELECT 1 FROM events m WHERE m.conversation_id = u.conversation_id AND m.role = 'user'
                          AND m.type = 'turn' AND m.created_at > u.created_at AND m.created_at <= a.created_at)
        WHERE u.type = 'turn' AND u.role = 'user' AND u.created_at >= ? AND u.created_at < ?
          AND coalesce(a.source, '') <> 'cache' AND length(u.content) <= 200
        """,
        [start, end],
    ).to_pylist()
    questions = [row for row in rows if "?" in row["content"] or len(row["content"].split()) <= 12]
    vectors = embedder.embedder().embed([row["content"] for row in questions])
    spec = published_matcher_spec(stores.lance())
    finder = TermFinder(spec.terms) if spec else None
    proposals: list[Proposal] = []
    members_of: dict[int, list[int]] = {}
    for members in greedy_clusters(vectors, config.similarity):
        users = {(questions[i]["tenant"], questions[i]["user_id"]) for i in members}
        if len(members) < config.min_cluster_size or len(users) < learning.settings().min_users:
            continue
        centre = vectors[members].mean(axis=0)
        representative = questions[members[int(np.argmax(vectors[members] @ centre))]]["content"]
        proposal: Proposal = {
            "messages": len(members),
            "users": len(users),
            "term_groups": sorted(finder.groups(representative)) if finder else [],
        }
        proposals.append(proposal)
        members_of[id(proposal)] = members
    proposals.sort(key=lambda p: (-p["messages"], p["term_groups"]))
    stored = []
    for number, proposal in enumerate(proposals, start=1):
        proposal["id"] = f"{day}-{number}"
        stored += [
            ProposalRow(
                id=questions[i]["message_id"],
                proposal=proposal["id"],
                day=day,
                tenant=questions[i]["tenant"],
                user_id=questions[i]["user_id"],
                question=questions[i]["content"],
                asked_at=questions[i]["created_at"],
                run_id=context.run_id,
            ).to_columns()
            for i in members_of[id(proposal)]
        ]
    committed = commit_user_rows(
        stores.lance(),
        reader,
        PROPOSALS_TABLE,
        proposals_schema(),
        stored,
        f"proposals-{day}",
        replace_scope=f"day = {sql_literal(day)}",
    )
    return dg.MaterializeResult(
        metadata={
            "day": day,
            "cache_missed_questions": len(questions),
            "proposals": len(proposals),
            "proposed": dg.MetadataValue.json(proposals[:20]),
            **committed,
            "preview": markdown_table(
                ["proposal", "messages", "users", "terms they use"],
                ([p["id"], p["messages"], p["users"], ", ".join(p["term_groups"])] for p in proposals),
                limit=10,
                empty="No question was frequent enough that day.",
            ),
            "to_accept": "Read a proposal's questions in the intent_proposals table (column `proposal`), then launch "
            "the review_intent_proposal job with ops.accepted_intents.config: proposal_id, decision (accept or "
            "reject) and, to accept, the intent's name, term rules, phrasings and reference answers in your own "
            "words. Launching it again on the same proposal edits the decision.",
        }
    )
