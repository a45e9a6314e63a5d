import dagster as dg
import pytest

from pipelines.definitions import defs


def test_definitions_load_with_assets_checks_and_resources():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "conversation_log",
        "cultural_topics",
        "cultural_insights",
        "conversation_analyses",
        "jiwa_profiles",
    } <= keys
    checks = {key.name for key in defs.get_assets_def("cultural_insights").check_keys}
    assert checks == {"truth_gate_pass_share", "schema_valid", "no_empty_text", "duplicate_rate"}
    assert {key.name for key in defs.get_assets_def("curated_insights").check_keys} == {
        "curated_schema_valid",
        "every_topic_curated",
    }
    assert set(defs.resources) >= {"llama", "embedder", "stores"}


def test_every_asset_has_group_kinds_and_code_version():
    for assets_def in defs.assets:
        if isinstance(assets_def, dg.SourceAsset):
            assert assets_def.group_name == "conversations" and any(
                t.startswith("dagster/kind/") for t in assets_def.tags
            )
            continue
        for key in assets_def.keys:
            spec = assets_def.specs_by_key[key]
            assert spec.group_name and spec.group_name != "default", key
            assert spec.kinds, key
            assert spec.code_version, key


def test_insight_checks_are_blocking():
    specs = defs.get_assets_def("cultural_insights").check_specs
    assert all(spec.blocking for spec in specs)


def test_enrichment_checks_sensor_and_compaction_schedule():
    analyses = {spec.name: spec.blocking for spec in defs.get_assets_def("conversation_analyses").check_specs}
    assert analyses == {"analyses_schema_valid": True, "claims_cite_user_turns": True, "no_failed_analyses": False}
    assert all(spec.blocking for spec in defs.get_assets_def("jiwa_profiles").check_specs)
    sensor = defs.get_sensor_def("finished_conversations")
    assert sensor.job_name == "conversation_enrichment" and sensor.minimum_interval_seconds <= 60
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.get_schedule_def("hourly_compaction")
    assert schedule.job_name == "store_compaction" and schedule.execution_timezone == "Asia/Makassar"
    selection = defs.resolve_job_def("conversation_enrichment").asset_layer.executable_asset_keys
    assert {key.to_user_string() for key in selection} == {"conversation_analyses", "jiwa_profiles"}


def test_workspace_loads_this_code_location():
    import importlib

    import yaml

    from jiwa.paths import PROJECT_ROOT

    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    target = workspace["load_from"][0]["python_module"]
    loaded = importlib.import_module(target["module_name"]).defs
    assert target["location_name"] == "jiwa"
    keys = {key.to_user_string() for key in loaded.resolve_asset_graph().get_all_asset_keys()}
    assert {"cultural_insights", "conversation_analyses", "common_response_cache", "learned_insights"} <= keys


def test_the_nightly_job_reads_every_category_of_the_knowledge_base():
    dep = next(
        d
        for d in defs.get_assets_def("nightly_findings").specs_by_key[dg.AssetKey("nightly_findings")].deps
        if d.asset_key == dg.AssetKey("cultural_insights")
    )
    assert isinstance(dep.partition_mapping, dg.AllPartitionMapping)


def test_served_knowledge_shows_where_it_comes_from_and_the_night_writes_only_its_own_tables():
    graph = defs.resolve_asset_graph()
    learned = dg.AssetKey("learned_insights")
    assert graph.get(learned).parent_keys == {dg.AssetKey("nightly_findings")}
    assert dg.AssetKey("cultural_insights") not in graph.get(dg.AssetKey("nightly_findings")).child_keys
    review = defs.get_job_def("review_learned_insights")
    assert {key.to_user_string() for key in review.asset_layer.executable_asset_keys} == {"learned_insights"}


def test_resources_read_the_environment_when_a_run_starts_not_at_import(monkeypatch):
    from assets.resources import AnalysisResource, StoresResource

    analysis, stores = AnalysisResource(), StoresResource()
    monkeypatch.setenv("JIWA_ANALYSIS_BATCH_SIZE", "7")
    monkeypatch.setenv("JIWA_DATA_URI", "/srv/jiwa")
    assert analysis.settings().analysis_batch_size == 7 and stores.uri == "/srv/jiwa"
    assert AnalysisResource(analysis_batch_size=3).settings().analysis_batch_size == 3  # the launchpad wins


def test_each_resource_mirrors_its_settings_class_field_for_field():
    from pydantic import SecretStr

    from assets import resources
    from jiwa import settings

    mirrored = {
        resources.LlamaResource: settings.LlamaSettings,
        resources.EmbedderResource: settings.EmbedderSettings,
        resources.StoresResource: settings.StoreSettings,
        resources.AnalysisResource: settings.AnalysisSettings,
        resources.KnowledgeResource: settings.KnowledgeSettings,
        resources.LearningResource: settings.LearningSettings,
        resources.ClaudeResource: settings.ClaudeSettings,
    }
    for resource, settings_class in mirrored.items():
        assert list(resource.model_fields) == list(settings_class.model_fields), resource
        for name, field in resource.model_fields.items():
            setting = settings_class.model_fields[name]
            # A secret is set as a dg.EnvVar, a plain string, and becomes a SecretStr in the settings.
            expected = str if setting.annotation == SecretStr | None else setting.annotation
            assert field.annotation == expected | None, (resource, name)
            assert field.default is None and field.description.startswith(setting.description), (resource, name)


def test_the_llama_server_key_reaches_the_resource_as_an_env_var(monkeypatch):
    from pipelines.definitions import LLM_SERVER_API_KEY, build_definitions

    monkeypatch.setenv(LLM_SERVER_API_KEY, "not-a-real-key")
    llama = build_definitions().resources["llama"]
    assert llama.server_api_key == dg.EnvVar(LLM_SERVER_API_KEY)
    assert "not-a-real-key" not in repr(llama)
    monkeypatch.delenv(LLM_SERVER_API_KEY)
    assert build_definitions().resources["llama"].server_api_key is None


def test_only_supported_storage_is_accepted_and_object_storage_names_the_conversation_store():
    import pydantic

    from jiwa.settings import Settings, StoreSettings

    for settings_class in (StoreSettings, Settings):
        with pytest.raises(pydantic.ValidationError, match="gs://, which Jiwa does not support"):
            settings_class(data_uri="gs://bucket/jiwa")
        with pytest.raises(pydantic.ValidationError, match="set JIWA_CONVERSATIONS_URL too"):
            settings_class(data_uri="s3://bucket/jiwa")
        chosen = settings_class(data_uri="s3://bucket/jiwa", conversations_url="sqlite:////srv/jiwa/c.sqlite3")
        assert chosen.conversations_db == "sqlite:////srv/jiwa/c.sqlite3"
