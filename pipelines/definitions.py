"""The Jiwa code location: every family's assets, checks, jobs, schedules and sensors, and the resources they share."""

from __future__ import annotations

import os

import dagster as dg

from assets import conversations, enrichment, knowledge, maintenance, nightly, response_cache
from assets.resources import (
    AnalysisResource,
    ClaudeResource,
    EmbedderResource,
    KnowledgeResource,
    LearningResource,
    LlamaResource,
    StoresResource,
)

LLM_SERVER_API_KEY = "JIWA_LLM_SERVER_API_KEY"


def build_definitions() -> dg.Definitions:
    # A secret reaches the resource as an EnvVar, so the UI shows its name, never its value. Dagster refuses an
    # EnvVar that is unset, and the key is optional, so it is wired only where the code location has it.
    llama = (
        LlamaResource(server_api_key=dg.EnvVar(LLM_SERVER_API_KEY))
        if os.environ.get(LLM_SERVER_API_KEY)
        else LlamaResource()
    )
    families = dg.Definitions.merge(
        conversations.defs, knowledge.defs, enrichment.defs, response_cache.defs, nightly.defs, maintenance.defs
    )
    resources = dg.Definitions(
        resources={
            "llama": llama,
            "embedder": EmbedderResource(),
            "stores": StoresResource(),
            "analysis": AnalysisResource(),
            "knowledge": KnowledgeResource(),
            "learning": LearningResource(),
            "claude": ClaudeResource(),
        }
    )
    return dg.Definitions.merge(families, resources)


defs = build_definitions()
