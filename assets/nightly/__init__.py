"""Nightly learning: at 03:00 in Bali, yesterday's conversations teach lessons that are earned per tenant, feedback
scores what was served, profiles are refreshed, intents proposed, and the stores compacted. The nightly job, its
schedule and the analysts' review job live here."""

import dagster as dg

from assets.nightly.compacted_stores import compacted_stores
from assets.nightly.days import nightly_partitions
from assets.nightly.feedback import feedback_scores
from assets.nightly.findings import nightly_findings
from assets.nightly.learned import learned_insights
from assets.nightly.proposals import proposed_intents
from assets.nightly.refreshed_profiles import refreshed_profiles

nightly_job = dg.define_asset_job(
    "nightly_learning",
    selection=dg.AssetSelection.groups("nightly"),
    partitions_def=nightly_partitions,
    description="Learn from one Bali day: findings, learned lessons, feedback scores, profiles refreshed, intents "
    "proposed, stores compacted.",
)

# For daily partitions the schedule runs the partition of the day before: at 03:00 on the 25th, the 24th.
nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job,
    name="nightly_learning_schedule",
    hour_of_day=3,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:00 Asia/Makassar, over yesterday's conversations.",
)

review_job = dg.define_asset_job(
    "review_learned_insights",
    selection=[learned_insights],
    description="An analyst's review: in the launchpad, list candidate ids (from learned_insights' preview) under "
    "ops.learned_insights.config.approve (served to every tenant) or .reject (never served).",
)

defs = dg.Definitions(
    assets=[
        nightly_findings,
        learned_insights,
        feedback_scores,
        refreshed_profiles,
        proposed_intents,
        compacted_stores,
    ],
    jobs=[nightly_job, review_job],
    schedules=[nightly_schedule],
)
