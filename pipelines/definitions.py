"""The Jiwa code location: every asset, check, resource, schedule and sensor."""

import dagster as dg

from assets import conversations, knowledge
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules([conversations, knowledge]),
        asset_checks=dg.load_asset_checks_from_modules([knowledge]),
        resources={
            "llama": LlamaResource(),
            "embedder": EmbedderResource(),
            "stores": StoresResource(),
        },
    )


defs = build_definitions()
