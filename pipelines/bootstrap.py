"""The two halves of `make run`: what needs no model first, so the server answers within a minute or two of the
install; then LLAMA's work, queued as runs the analyst can watch in the Dagster UI.

`python -m pipelines.bootstrap` publishes the topic catalogue, the team's curated insights, the cultural primer
distilled from them and a response cache built from the team's own texts, all without a model. `python -m pipelines.bootstrap --enqueue` waits for the
Dagster UI, then queues a run for every category whose LLAMA insights are missing or stale, the response cache
with LLAMA's paraphrases and variants, and the analysis of conversations that finished while nothing ran.
Everything goes into the persistent Dagster instance ($DAGSTER_HOME), so it shows in the UI's run history.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field

import dagster as dg

from assets.enrichment import enrichment_job
from assets.knowledge import cultural_insights, cultural_primer, cultural_topics, curated_insights, llama_insights_job
from assets.knowledge.topics import category_partitions
from assets.publishing import was_held
from assets.response_cache import common_response_cache, curated_facts, intent_catalogue, response_cache_job
from jiwa.llm import LlamaSettings
from jiwa.llm.probe import probe
from pipelines.definitions import defs

log = logging.getLogger("jiwa.bootstrap")
# The response cache built from the team's texts alone: no model call, so it is ready at once.
TEAM_ONLY_CACHE = {
    "ops": {"common_response_cache": {"config": {"paraphrases_per_language": 0, "variants_per_language": 0}}}
}


def _latest(instance: dg.DagsterInstance, assets_def: dg.AssetsDefinition, partition: str | None = None):
    asset_filter = dg.AssetRecordsFilter(asset_key=assets_def.key, asset_partitions=[partition] if partition else None)
    records = instance.fetch_materializations(asset_filter, limit=1).records
    return records[0].asset_materialization if records else None


def is_stale(instance: dg.DagsterInstance, assets_def: dg.AssetsDefinition, partition: str | None = None) -> bool:
    """Never published, refused by its checks, or built by another code version (a prompt, fact or catalogue changed)."""
    materialization = _latest(instance, assets_def, partition)
    if materialization is None:
        return True
    current = assets_def.code_versions_by_key[assets_def.key]
    return was_held(materialization.metadata) or materialization.tags.get("dagster/code_version") != current


def publish_without_a_model(instance: dg.DagsterInstance) -> None:
    """The first half: the catalogue, the curated base, its primer and a team-only response cache, each only if stale."""
    resources = defs.resources
    dg.materialize([cultural_topics], resources=resources, instance=instance)
    republished = is_stale(instance, curated_insights)
    if republished:
        log.info("curated_insights: publishing the team's insights")
        dg.materialize(
            [cultural_topics, curated_insights], selection=[curated_insights], resources=resources, instance=instance
        )
    else:
        log.info("curated_insights: current")
    if republished or is_stale(instance, cultural_primer):
        log.info("cultural_primer: distilling it for Claude's cached prefix")
        dg.materialize([cultural_primer], resources=resources, instance=instance)
    else:
        log.info("cultural_primer: current")
    cache_assets = (curated_facts, intent_catalogue, common_response_cache)
    if any(is_stale(instance, assets_def) for assets_def in cache_assets):
        log.info("common_response_cache: building it from the team's facts and intents (LLAMA's variants follow)")
        dg.materialize(
            list(cache_assets), resources=resources, instance=instance, run_config=TEAM_ONLY_CACHE, raise_on_error=False
        )
    else:
        log.info("common_response_cache: current")


@dataclass
class PlannedRun:
    job: str
    tags: dict[str, str] = field(default_factory=dict)
    why: str = ""


def runs_to_queue(instance: dg.DagsterInstance) -> list[PlannedRun]:
    """The second half: LLAMA's work that is missing or stale, one run each."""
    planned = [
        PlannedRun(llama_insights_job.name, {"dagster/partition": category}, f"cultural_insights[{category}]")
        for category in category_partitions.get_partition_keys()
        if is_stale(instance, cultural_insights, category)
    ]
    cache = _latest(instance, common_response_cache)
    asked = cache is not None and cache.metadata.get("llama_asked") is not None and cache.metadata["llama_asked"].value
    if not asked or is_stale(instance, common_response_cache):
        planned.append(PlannedRun(response_cache_job.name, why="common_response_cache with LLAMA's variants"))
    # Conversations that finished while nothing ran; from here on the sensor takes them as they end.
    planned.append(PlannedRun(enrichment_job.name, why="conversation analyses and profiles, catching up"))
    return planned


def queue(planned: list[PlannedRun], host: str, port: int, wait_s: float) -> int:
    """Submit the runs through the Dagster UI's API once it answers; returns how many were queued."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    client = DagsterGraphQLClient(host, port_number=port)
    deadline = time.monotonic() + wait_s
    queued = 0
    for run in planned:
        while True:
            try:
                run_id = client.submit_job_execution(run.job, tags=run.tags)
                break
            except (DagsterGraphQLClientError, OSError) as exc:
                if time.monotonic() > deadline:
                    log.error(
                        "the Dagster UI at %s:%d did not take %s (%s); launch it from the UI", host, port, run.why, exc
                    )
                    return queued
                time.sleep(3)
        queued += 1
        log.info("queued %s: http://%s:%d/runs/%s", run.why, host, port, run_id)
    return queued


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enqueue", action="store_true", help="Queue LLAMA's runs in the running Dagster UI.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--wait-s", type=float, default=600.0, help="How long to wait for the Dagster UI to answer.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.enqueue:
        publish_without_a_model(dg.DagsterInstance.get())
        return 0
    proven = probe(LlamaSettings(), tokens=8)
    if not proven.ok:
        log.error(
            "LLAMA cannot run on this machine, so none of its runs are queued; the chat server answers from the "
            "curated base and the team's cache.\n%s",
            proven.report,
        )
        return 1
    planned = runs_to_queue(dg.DagsterInstance.get())
    queued = queue(planned, args.host, args.port, args.wait_s)
    return 0 if queued == len(planned) else 1


if __name__ == "__main__":
    sys.exit(main())
