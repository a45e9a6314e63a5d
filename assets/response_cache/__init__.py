"""Response cache: the team's facts and intents, LLAMA's vetted paraphrases and answers, and the sensor that rebuilds them."""

import dagster as dg

from assets.response_cache.cache import common_response_cache
from assets.response_cache.catalogues import cache_automation, curated_facts, intent_catalogue

defs = dg.Definitions(assets=[curated_facts, intent_catalogue, common_response_cache], sensors=[cache_automation])
