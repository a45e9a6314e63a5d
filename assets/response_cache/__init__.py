"""Response cache: the team's facts and intents with those analysts accepted from the nightly proposals, LLAMA's
vetted paraphrases and answers, the jobs that build them and the sensor that rebuilds them."""

import dagster as dg

from assets.response_cache.accepted import accepted_intents
from assets.response_cache.cache import common_response_cache
from assets.response_cache.catalogues import cache_automation, curated_facts, intent_catalogue
from assets.response_cache.fact_review import fact_review_schedule, facts_reviewed_in_time

# LLAMA's paraphrases and answer variants over the team's facts and intents (make run queues it after its quick build).
response_cache_job = dg.define_asset_job(
    "response_cache",
    selection=[common_response_cache],
    description="Rebuild the response cache with LLAMA's vetted paraphrases and answer variants.",
)

# The decision and the rebuild in one run: the accepted intent is served once it succeeds, and a refused decision
# stops the run before anything downstream is rebuilt.
review_proposal_job = dg.define_asset_job(
    "review_intent_proposal",
    selection=[accepted_intents, curated_facts, intent_catalogue, common_response_cache],
    description="An analyst's decision on a nightly proposal: in the launchpad, under ops.accepted_intents.config "
    "give proposal_id (from proposed_intents' preview) and decision (accept or reject); to accept, the intent's "
    "name, term rules, phrasings and reference answers per language in your own words, and any new facts. "
    "Accepting again edits; the cache is rebuilt from the result.",
)

defs = dg.Definitions(
    assets=[accepted_intents, curated_facts, intent_catalogue, common_response_cache],
    asset_checks=[facts_reviewed_in_time],
    jobs=[response_cache_job, review_proposal_job],
    schedules=[fact_review_schedule],
    sensors=[cache_automation],
)
