"""Knowledge: the team's topic catalogue and curated insights, what LLAMA adds to them through the truth gate, and the
primer distilled from them for Claude's cached prefix."""

import dagster as dg

from assets.knowledge.curated import curated_insights
from assets.knowledge.insights import cultural_insights
from assets.knowledge.primer import cultural_primer, primer_automation
from assets.knowledge.topics import category_partitions, cultural_topics

# What LLAMA adds to the knowledge base, one category per run (make run queues the stale ones; analysts launch more).
llama_insights_job = dg.define_asset_job(
    "llama_insights",
    selection=[cultural_insights],
    partitions_def=category_partitions,
    description="LLAMA writes insights for one category; only those that pass the truth gate are published.",
)

defs = dg.Definitions(
    assets=[cultural_topics, curated_insights, cultural_insights, cultural_primer],
    jobs=[llama_insights_job],
    sensors=[primer_automation],
)
