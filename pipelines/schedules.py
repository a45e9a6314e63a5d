"""Time- and change-driven runs: the nightly learning job at 03:00 in Bali, and the cache rebuilt when its files change."""

import dagster as dg

from assets.nightly import nightly_partitions

nightly_job = dg.define_asset_job(
    "nightly_learning",
    selection=dg.AssetSelection.groups("nightly"),
    partitions_def=nightly_partitions,
    description="Learn from one Bali day: findings into the knowledge base, profiles refreshed, intents proposed, stores compacted.",
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

# Rebuilds the response cache when the facts or intents files change, without waiting for anyone.
cache_automation = dg.AutomationConditionSensorDefinition(
    "cache_automation",
    target=dg.AssetSelection.groups("cache"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-reads curated_facts and intent_catalogue when their files change, then rebuilds common_response_cache.",
)
