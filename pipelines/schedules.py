"""The nightly learning job and its schedule: 03:00 in Bali, over the day that just ended."""

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
