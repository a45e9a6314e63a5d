"""The Jiwa code location: every asset, check, resource, schedule and sensor."""

import dagster as dg

from assets import conversations, enrichment, knowledge, nightly, response_cache
from pipelines.maintenance import hourly_compaction, store_compaction
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource
from pipelines.schedules import cache_automation, nightly_job, nightly_schedule
from pipelines.sensors import enrichment_job, finished_conversations


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules([conversations, knowledge, enrichment, response_cache, nightly]),
        asset_checks=dg.load_asset_checks_from_modules([knowledge, enrichment, response_cache, nightly]),
        jobs=[enrichment_job, store_compaction, nightly_job],
        sensors=[finished_conversations, cache_automation],
        schedules=[hourly_compaction, nightly_schedule],
        resources={
            "llama": LlamaResource(),
            "embedder": EmbedderResource(),
            "stores": StoresResource(),
        },
    )


defs = build_definitions()
