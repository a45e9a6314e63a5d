"""Response cache: the team's facts and intents, LLAMA's vetted paraphrases and answers, and the sensor that rebuilds them."""

import dagster as dg

from assets.response_cache.cache import common_response_cache
from assets.response_cache.catalogues import cache_automation, curated_facts, intent_catalogue
from assets.response_cache.fact_review import fact_review_schedule, facts_reviewed_in_time

# LLAMA's paraphrases and answer variants over the team's facts and intents (make run queues it after its quick build).
response_cache_job = dg.define_asset_job(
    "response_cache",
    selection=[common_response_cache],
    description="Rebuild the response cache with LLAMA's vetted paraphrases and answer variants.",
)

defs = dg.Definitions(
    assets=[curated_facts, intent_catalogue, common_response_cache],
    asset_checks=[facts_reviewed_in_time],
    jobs=[response_cache_job],
    schedules=[fact_review_schedule],
    sensors=[cache_automation],
)
