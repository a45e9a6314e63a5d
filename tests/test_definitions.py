import dagster as dg

from pipelines.definitions import defs


def test_definitions_load_with_assets_checks_and_resources():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"conversation_log", "cultural_topics", "cultural_insights", "conversation_analyses", "jiwa_profiles"} <= keys
    checks = {key.name for key in defs.get_assets_def("cultural_insights").check_keys}
    assert checks == {"enough_rows", "schema_valid", "no_empty_text", "duplicate_rate", "topics_covered"}
    assert set(defs.resources) >= {"llama", "embedder", "stores"}


def test_every_asset_has_group_kinds_and_code_version():
    for assets_def in defs.assets:
        if isinstance(assets_def, dg.SourceAsset):
            assert assets_def.group_name == "conversations" and any(t.startswith("dagster/kind/") for t in assets_def.tags)
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


def test_workspace_points_at_the_definitions_module():
    import yaml

    from jiwa.paths import PROJECT_ROOT

    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "pipelines.definitions"
    assert isinstance(defs, dg.Definitions)
