"""The knowledge family on the fake LLM: the curated base, cultural_insights through the truth gate, checks, publishing."""

import dagster as dg
import lancedb
import yaml

from assets.knowledge import cultural_insights, cultural_topics
from assets.knowledge.insights import InsightsConfig
from assets.resources import KnowledgeResource
from jiwa.catalogue.topics import TOPICS_PATH, load_catalogue
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.fakes import FakeLlamaResource
from tests.support.resources import pipeline_resources
from tests.support.server import publish_curated

CATEGORY = "phrases_emotions"
CURATED_ROWS = {"phrases_emotions": 48, "business_culture": 48, "bali_time_ceremony": 42, "expat_journey": 51}


def _materialize(resources, partition_key=CATEGORY, run_config=None, instance=None, raise_on_error=True):
    return dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key=partition_key,
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def _config(**fields):
    return {"ops": {"cultural_insights": {"config": fields}}}


def _rows(data_uri, source=None):
    rows = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).to_arrow().to_pylist()
    return [row for row in rows if source is None or row["source"] == source]


def test_the_curated_base_is_published_for_every_topic_without_a_model(resources, data_uri):
    result = publish_curated(resources)
    assert result.success
    rows = _rows(data_uri)
    assert {row["source"] for row in rows} == {"curated"} and {row["model"] for row in rows} == {"team"}
    per_category = {category: sum(row["category"] == category for row in rows) for category in CURATED_ROWS}
    assert per_category == CURATED_ROWS
    assert len({row["topic_id"] for row in rows}) == len(load_catalogue().topics)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"curated_schema_valid": True, "every_topic_curated": True}
    assert any(tag.startswith("curated-") for tag in lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).tags.list())


def test_direct_call_returns_metadata_and_passing_checks(resources, data_uri):
    publish_curated(resources)
    with dg.build_asset_context(partition_key=CATEGORY, resources=resources) as context:
        result = cultural_insights(
            context=context,
            config=InsightsConfig(insights_per_topic=2, topic_limit=3),
            cultural_topics=load_catalogue(),
        )
    assert result.metadata["requested"] == 6 and result.metadata["generated"] == 6
    assert result.metadata["published"] is True
    assert {check.check_name: check.passed for check in result.check_results} == {
        "truth_gate_pass_share": True,
        "schema_valid": True,
        "no_empty_text": True,
        "duplicate_rate": True,
    }
    assert result.metadata["passed_truth_gate"] == 6 and result.metadata["truth_gate_pass_share"] == 1.0
    assert "curated base serves every topic" in result.metadata["truth_gate"]
    assert len(_rows(data_uri, "llama_offline")) == result.metadata["rows_written"] > 0
    assert len(_rows(data_uri, "curated")) == sum(CURATED_ROWS.values())  # LLAMA's rows never replace the team's
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


def test_the_model_is_shown_the_teams_insights_as_examples():
    import logging

    from assets.knowledge.generation import generate_insights
    from jiwa.catalogue.curated import load_curated
    from jiwa.llm import StructuredLLM
    from tests.support.fakes import FakeChatBackend

    catalogue = load_catalogue()
    backend = FakeChatBackend()
    topics = catalogue.in_category(CATEGORY)[:1]
    generate_insights(
        logging.getLogger("test"), StructuredLLM(backend), topics, catalogue.facets, 1, 1, load_curated(catalogue)
    )
    prompt = backend.calls[0][-1]["content"]
    first_curated = yaml.safe_load(open("assets/catalogue/curated_insights/phrases_emotions.yaml"))["aku_malu"][0]
    assert first_curated["insight"] in prompt


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
    bad = dict(good, llama=broken_llama, knowledge=KnowledgeResource(insights_min_pass_share=0.5))
    result = _materialize(
        bad, run_config=_config(insights_per_topic=1, topic_limit=3), instance=instance, raise_on_error=False
    )
    checks = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    assert checks["truth_gate_pass_share"].passed is False
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
    assert {row["topic_id"] for row in _rows(data_uri)} == {"aku_malu", "maaf"}
