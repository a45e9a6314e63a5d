"""cultural_topics and cultural_insights on the fake LLM: direct calls, materialization, checks and publishing."""

import dagster as dg
import lancedb
import yaml

from assets.knowledge import cultural_insights, cultural_topics
from assets.knowledge.insights import InsightsConfig
from jiwa.catalogue.topics import TOPICS_PATH, load_catalogue
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.fakes import FakeLlamaResource
from tests.support.resources import pipeline_resources

CATEGORY = "phrases_emotions"


def _materialize(resources, partition_key=CATEGORY, run_config=None, instance=None):
    return dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key=partition_key,
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
    )


def _config(**fields):
    return {"ops": {"cultural_insights": {"config": fields}}}


def test_direct_call_returns_metadata_and_passing_checks(resources, data_uri):
    with dg.build_asset_context(partition_key=CATEGORY, resources=resources) as context:
        result = cultural_insights(
            context=context,
            config=InsightsConfig(insights_per_topic=2, topic_limit=3),
            cultural_topics=load_catalogue(),
        )
    assert result.metadata["requested"] == 6
    assert result.metadata["published"] is True
    assert {check.check_name: check.passed for check in result.check_results} == {
        "enough_rows": True,
        "schema_valid": True,
        "no_empty_text": True,
        "duplicate_rate": True,
        "topics_covered": True,
    }
    table = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE)
    assert table.count_rows() == result.metadata["rows_written"] > 0
    assert "| topic | insight |" in result.metadata["preview"].value


def test_materialize_writes_tagged_version_with_provenance(resources, data_uri):
    result = _materialize(resources, run_config=_config(insights_per_topic=2, topic_limit=4))
    assert result.success
    table = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE)
    rows = table.to_arrow().to_pylist()
    assert len(rows) == 8
    assert {row["source"] for row in rows} == {"llama_offline"}
    assert {row["model"] for row in rows} == {"fake-llama"}
    assert all(row["prompt_name"] == "cultural_insight" and row["generated_at"] for row in rows)
    assert all(row["triggers_id"] and row["triggers_en"] and row["triggers_it"] for row in rows)
    tags = table.tags.list()
    assert any(tag.startswith(CATEGORY) for tag in tags)
    materialization = result.asset_materializations_for_node("cultural_insights")[0]
    assert materialization.metadata["table_version"].value in {entry["version"] for entry in tags.values()}


def test_rematerializing_a_category_replaces_only_its_rows(resources, data_uri):
    instance = dg.DagsterInstance.ephemeral()
    _materialize(resources, run_config=_config(insights_per_topic=2, topic_limit=3), instance=instance)
    _materialize(
        resources, "business_culture", run_config=_config(insights_per_topic=1, topic_limit=2), instance=instance
    )
    table = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE)
    first_tag = next(tag for tag in table.tags.list() if tag.startswith(CATEGORY))

    _materialize(resources, run_config=_config(insights_per_topic=1, topic_limit=2), instance=instance)
    table.checkout_latest()
    counts = table.to_arrow().group_by("category").aggregate([("id", "count")]).to_pylist()
    assert {row["category"]: row["id_count"] for row in counts} == {CATEGORY: 2, "business_culture": 2}
    # The earlier published version is still readable, and restorable, by its tag.
    table.checkout(first_tag)
    assert table.count_rows(f"category = '{CATEGORY}'") == 6


def test_failing_checks_block_publishing_and_keep_the_last_good_version(data_uri):
    instance = dg.DagsterInstance.ephemeral()
    good = pipeline_resources(data_uri)
    _materialize(good, run_config=_config(insights_per_topic=1, topic_limit=3), instance=instance)
    version_before = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).version

    broken_llama = FakeLlamaResource(max_retries=1, script=['{"insight": "truncated'] * 100)
    bad = dict(good, llama=broken_llama)
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=bad,
        partition_key=CATEGORY,
        run_config=_config(insights_per_topic=1, topic_limit=3),
        instance=instance,
        raise_on_error=False,
    )
    checks = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    assert checks["enough_rows"].passed is False
    assert checks["topics_covered"].passed is False
    materialization = result.asset_materializations_for_node("cultural_insights")[0]
    assert materialization.metadata["published"].value is False
    # Three requests, then a top-up round of three more, each tried twice: all dropped and counted.
    assert materialization.metadata["dropped_invalid"].value == 6
    assert materialization.metadata["rejections"].value == {"invalid_json": 12}
    assert result.success is False
    table = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE)
    assert table.version == version_before
    assert table.count_rows() == 3


def test_topic_catalogue_asset_reports_counts():
    result = dg.materialize([cultural_topics])
    output = result.output_for_node("cultural_topics")
    assert len(output.topics) >= 60
    metadata = result.asset_materializations_for_node("cultural_topics")[0].metadata
    assert metadata["topics"].value == len(output.topics)


def test_every_category_of_the_catalogue_file_is_a_partition():
    # Read from the file itself, not through the loader the partitions are built with.
    written = {topic["category"] for topic in yaml.safe_load(TOPICS_PATH.read_text())["topics"]}
    assert set(cultural_insights.partitions_def.get_partition_keys()) == written
    assert {"phrases_emotions", "bali_time_ceremony"} <= written


def test_a_topic_left_empty_gets_a_top_up_round(data_uri):
    # The first topic's two requests fail every attempt (max_retries=0); the top-up round then succeeds.
    llama = FakeLlamaResource(max_retries=0, script=["{broken", "{broken"])
    resources = pipeline_resources(data_uri, llama)
    result = _materialize(resources, run_config=_config(insights_per_topic=2, topic_limit=2))
    metadata = result.asset_materializations_for_node("cultural_insights")[0].metadata
    assert metadata["dropped_invalid"].value == 2
    assert metadata["published"].value is True
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["topics_covered"] is True
