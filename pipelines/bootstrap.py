"""Materialize what is missing or stale, so `make run` starts the UI over real stores.

Runs go into the persistent Dagster instance ($DAGSTER_HOME), so they show in the UI's run history.
"""

import logging
import sys
import time

import dagster as dg

from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.knowledge import cultural_insights, cultural_topics
from assets.response_cache import common_response_cache, curated_facts, intent_catalogue
from pipelines.definitions import defs

log = logging.getLogger("jiwa.bootstrap")


def _is_stale(instance: dg.DagsterInstance, assets_def: dg.AssetsDefinition, partition: str | None = None) -> bool:
    """Never published, refused by its checks, or built by another code version (a prompt, fact or catalogue changed)."""
    asset_filter = dg.AssetRecordsFilter(asset_key=assets_def.key, asset_partitions=[partition] if partition else None)
    records = instance.fetch_materializations(asset_filter, limit=1).records
    if not records:
        return True
    materialization = records[0].asset_materialization
    published = materialization.metadata.get("published")
    refused = published is not None and not published.value
    return (
        refused or materialization.tags.get("dagster/code_version") != assets_def.code_versions_by_key[assets_def.key]
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    instance = dg.DagsterInstance.get()
    resources = defs.resources
    dg.materialize([cultural_topics], resources=resources, instance=instance)
    partitions = [
        p for p in cultural_insights.partitions_def.get_partition_keys() if _is_stale(instance, cultural_insights, p)
    ]
    if not partitions:
        log.info("cultural_insights: every category is current")
    failed = []
    for index, partition in enumerate(partitions, start=1):
        started = time.perf_counter()
        log.info("cultural_insights[%s]: materializing (%d/%d)", partition, index, len(partitions))
        result = dg.materialize(
            [cultural_topics, cultural_insights],
            selection=[cultural_insights],
            partition_key=partition,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        if not result.success:
            failed.append(partition)
        log.info(
            "cultural_insights[%s]: %s in %.0fs",
            partition,
            "ok" if result.success else "FAILED",
            time.perf_counter() - started,
        )
    if failed:
        log.error("These categories failed; see their runs in the Dagster UI: %s", ", ".join(failed))
    if any(_is_stale(instance, a) for a in (curated_facts, intent_catalogue, common_response_cache)):
        log.info("common_response_cache: building paraphrases and answers")
        dg.materialize(
            [curated_facts, intent_catalogue, common_response_cache],
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
    # Conversations that finished while nothing was running; from here on the sensor takes them as they end.
    log.info("conversation_analyses + jiwa_profiles: catching up on finished conversations")
    dg.materialize([conversation_analyses, jiwa_profiles], resources=resources, instance=instance, raise_on_error=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
