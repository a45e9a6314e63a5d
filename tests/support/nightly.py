"""Running the nightly learning in tests, and reading what it published."""

import asyncio
import json

import dagster as dg
import lancedb

from assets.nightly import (
    compacted_stores,
    feedback_scores,
    learned_insights,
    nightly_findings,
    proposed_intents,
    refreshed_profiles,
)
from bench.support.log import bali, feedback  # noqa: F401 (moved there; imported from here by the tests)
from jiwa.forgetting import forget_user
from jiwa.settings import LearningSettings

NIGHTLY = [nightly_findings, learned_insights, feedback_scores, refreshed_profiles, proposed_intents, compacted_stores]


def night(resources, day: str | None, instance=None, assets=NIGHTLY) -> dict[str, dict]:
    """One night's run; each asset's metadata by asset key."""
    result = dg.materialize(
        assets, resources=resources, partition_key=day, instance=instance or dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def review(resources, approve=(), reject=(), instance=None) -> dict:
    result = dg.materialize(
        [learned_insights],
        resources=resources,
        run_config={"ops": {"learned_insights": {"config": {"approve": list(approve), "reject": list(reject)}}}},
        instance=instance or dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("learned_insights")[0].metadata.items()}


def rows(data_uri: str, table: str) -> list[dict]:
    db = lancedb.connect(data_uri)
    return db.open_table(table).to_arrow().to_pylist() if table in db.table_names() else []


WORRIED = {"id": ["saya khawatir soal ini"], "en": ["I'm worried about this"], "it": ["sono preoccupato"]}


def lesson(insight: str, guidance: str, kind: str = "cultural_pattern", triggers: dict = WORRIED) -> str:
    """A nightly finding as LLAMA would write it."""
    return json.dumps(
        {
            "kind": kind,
            "insight": insight,
            "guidance": guidance,
            "triggers": triggers,
            "tone_tags": ["warm"],
        }
    )


class _Forgets:
    """The server's memory and log as forget_user sees them; the pipeline tables are the real ones."""

    def stop_serving(self, tenant: str, user_id: str) -> None:
        pass

    async def forget(self, tenant: str, user_id: str) -> int:
        return 0


def forget(data_uri: str, tenant: str, user_id: str) -> None:
    """forget_user as DELETE /v1/users/{id} runs it, over the pipeline's tables."""
    memory = log = _Forgets()
    asyncio.run(
        forget_user(tenant, user_id, memory=memory, db=lancedb.connect(data_uri), log=log, learning=LearningSettings())
    )
