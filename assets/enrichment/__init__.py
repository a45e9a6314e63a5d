"""Enrichment: an analysis of every finished conversation, each user's JIWA profile, and the sensor that runs them."""

import dagster as dg

from assets.enrichment.analyses import conversation_analyses
from assets.enrichment.jiwa_profiles import jiwa_profiles
from assets.enrichment.sensor import enrichment_job, finished_conversations

defs = dg.Definitions(
    assets=[conversation_analyses, jiwa_profiles], jobs=[enrichment_job], sensors=[finished_conversations]
)
