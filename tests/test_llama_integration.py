"""The real llama.cpp with the embedded SmolLM2 model: a small materialization, then a query of the table."""

import dagster as dg
import lancedb
import pytest

from assets.knowledge import cultural_insights, cultural_topics
from jiwa.store.insights import search_insights
from jiwa.store.lance import open_vector_table
from jiwa.store.schema import INSIGHTS_TABLE
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource

pytestmark = pytest.mark.model


def test_materialize_with_smollm2_and_query(data_uri, embedder):
    resources = {
        "llama": LlamaResource(model_path="", server_url="", context_size=2048),
        "embedder": EmbedderResource(),
        "stores": StoresResource(data_uri=data_uri),
    }
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1, "topic_limit": 2}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("cultural_insights")[0].metadata.items()}
    assert metadata["model"].startswith("SmolLM2-135M-Instruct")
    assert metadata["completion_tokens"] > 0 and metadata["tokens_per_s"] > 0
    # Every request ends accepted or dropped: nothing is silently lost.
    assert metadata["generated"] + metadata["dropped_invalid"] == metadata["requested"] == 2

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"enough_rows", "schema_valid", "no_empty_text", "duplicate_rate", "topics_covered"}
    if not metadata["published"]:
        pytest.fail(f"SmolLM2 batch failed its audit: {checks}")

    table = open_vector_table(lancedb.connect(data_uri), INSIGHTS_TABLE, embedder)
    rows = table.to_arrow().to_pylist()
    assert {row["topic_id"] for row in rows} == {"aku_malu", "maaf"}
    assert all(row["model"].startswith("SmolLM2") and row["source"] == "llama_offline" for row in rows)
    hits = search_insights(table, embedder.embed_one("maaf"), "maaf", k=2)
    assert {hit.id for hit in hits} <= {row["id"] for row in rows} and hits
