"""Learned insights: lessons of one tenant that enough of its users taught, served to that tenant; to every tenant
only once an analyst approves them. Launch the review job from the launchpad with candidate ids to decide."""

from collections import Counter

import dagster as dg
from pydantic import Field

from assets.checks import none_of
from assets.nightly.findings import nightly_findings
from assets.previews import markdown_table
from assets.resources import LearningResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.rows.insights import TRIGGER_COLUMNS
from jiwa.domain.status import APPROVED, EARNED, REJECTED
from jiwa.forgetting import sweep_forgotten
from jiwa.knowledge.learning import rebuild_learned, review_sheet_path
from jiwa.knowledge.screen import lesson_reason, team_vocabulary
from jiwa.store.learned import record_reviews

LEARNED_CHECKS = ("served_lessons_clean", "earned_lessons_supported")


class ReviewConfig(dg.Config):
    approve: list[str] = Field(
        default_factory=list, description="Candidate ids to serve to every tenant (ids from this asset's preview)."
    )
    reject: list[str] = Field(default_factory=list, description="Candidate ids never to serve, to any tenant.")


@dg.asset(
    group_name="nightly",
    kinds={"lancedb"},
    deps=[dg.AssetDep(nightly_findings, partition_mapping=dg.AllPartitionMapping())],
    code_version=asset_code_version(__name__),
    check_specs=[dg.AssetCheckSpec(name, asset="learned_insights", blocking=True) for name in LEARNED_CHECKS],
    description="Every night's findings grouped per tenant into candidate lessons, their support counted in "
    "distinct users across nights. Served to the tenant once JIWA_LEARNING_MIN_USERS users support one; to every "
    "tenant once an analyst approves it (review_learned_insights job).",
)
def learned_insights(
    context: dg.AssetExecutionContext, config: ReviewConfig, stores: StoresResource, learning: LearningResource
):
    settings = learning.settings()
    db = stores.lance()
    swept = sweep_forgotten(db, stores.event_reader())
    decisions = {**{key: APPROVED for key in config.approve}, **{key: REJECTED for key in config.reject}}
    both = sorted(set(config.approve) & set(config.reject))
    if both:
        raise dg.Failure(f"Candidates both approved and rejected: {both}. Put each id in one list only.")
    candidates = rebuild_learned(db, settings)
    unknown = sorted(set(decisions) - {c["id"] for c in candidates})
    if unknown:
        raise dg.Failure(
            f"No learned candidate has the id(s) {unknown}. Copy ids from the latest learned_insights preview; a "
            "candidate whose support was forgotten no longer exists."
        )
    if decisions:
        record_reviews(db, decisions, candidates, context.run_id)
        candidates = rebuild_learned(db, settings)

    statuses = Counter(c["status"] for c in candidates)
    return dg.MaterializeResult(
        metadata={
            "candidates": len(candidates),
            "statuses": dg.MetadataValue.json(dict(statuses)),
            "promoted": statuses[EARNED] + statuses[APPROVED],
            "tenants": len({c["tenant"] for c in candidates}),
            "reviewed_now": len(decisions),
            "forgotten_rows_swept": swept,
            "min_users": settings.min_users,
            "preview": _preview(candidates, settings.min_users),
            "review_sheet": dg.MetadataValue.path(str(review_sheet_path(db))),
        },
        check_results=_checks(candidates, settings.min_users),
    )


def _preview(candidates: list[dict], min_users: int) -> dg.MetadataValue:
    """Ids and support as counts, and only for lessons at least min_users people support: below that, even a
    lesson's topic and day could describe one person, and Dagster's storage is out of forgetting's reach. Analysts
    read the words in the review sheet beside the stores."""
    shown = sorted(
        (c for c in candidates if c["users"] >= min_users), key=lambda c: (-c["users"], c["tenant"], c["id"])
    )
    table = markdown_table(
        ["id", "tenant", "status", "users", "conversations", "first seen", "last seen", "kind", "topic"],
        (
            [
                c["id"],
                c["tenant"],
                c["status"],
                c["users"],
                len(c["supporting_conversations"]),
                c["first_seen"],
                c["last_seen"],
                c["kind"],
                c["topic"],
            ]
            for c in shown
        ),
        limit=50,
        empty="No lesson is supported by enough users yet.",
    )
    hidden = len(candidates) - len(shown)
    return dg.MetadataValue.md(f"{table.value}\n\n{hidden} more candidates with fewer than {min_users} users.")


def _checks(candidates: list[dict], min_users: int) -> list[dg.AssetCheckResult]:
    catalogue = load_catalogue()
    vocabulary = team_vocabulary(catalogue, load_curated(catalogue))
    served = [c for c in candidates if c["status"] in (EARNED, APPROVED)]
    unclean = [
        f"{c['id']}: {reason}"
        for c in served
        if (
            reason := lesson_reason(
                [c["insight"], c["guidance"], *(t for column in TRIGGER_COLUMNS for t in c[column])], vocabulary
            )
        )
    ]
    thin = [c["id"] for c in served if c["status"] == EARNED and c["users"] < min_users]
    return [
        none_of(
            "served_lessons_clean",
            unclean,
            "no served lesson holds planted content, an instruction or a name",
            "{count} served lessons fail the screen: {sample}",
        ),
        none_of(
            "earned_lessons_supported",
            thin,
            f"every earned lesson has at least {min_users} distinct users",
            "{count} earned lessons with too few users: {sample}",
        ),
    ]
