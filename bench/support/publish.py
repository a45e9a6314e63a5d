"""Publishing what a benchmark or a test needs in a temp data folder, as the pipeline does, without a model."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from assets.knowledge import cultural_insights, cultural_topics
from assets.knowledge.topics import category_partitions
from bench.support.resources import pipeline_resources
from jiwa.catalogue.intents import load_facts

# A day on which every team fact is within its review date, so that what the cache serves in a test or a benchmark
# does not depend on the day it runs (the shipped facts may be past review today; tests of expiry pick their own day).
FACTS_CHECKED_ON = min(fact.review_by for fact in load_facts().facts.values()) - timedelta(days=1)


def publish_team_cache(resources) -> None:
    """The team's intents and facts, without LLAMA's paraphrases, as make run's first half publishes them."""
    from assets.response_cache import common_response_cache, curated_facts, intent_catalogue

    result = dg.materialize(
        [curated_facts, intent_catalogue, common_response_cache],
        resources=resources,
        run_config={
            "ops": {"common_response_cache": {"config": {"paraphrases_per_language": 0, "variants_per_language": 0}}}
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success


def publish_fake_insights(data_uri: str, per_topic: int = 4) -> None:
    """A real insight table for retrieval to work on, written by the asset with the fake LLM."""
    resources = pipeline_resources(data_uri)
    instance = dg.DagsterInstance.ephemeral()
    for category in category_partitions.get_partition_keys():
        dg.materialize(
            [cultural_topics, cultural_insights],
            resources=resources,
            partition_key=category,
            instance=instance,
            run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": per_topic}}}},
        )
