"""The production Dagster instance (pipelines/dagster-production.yaml) on a real PostgreSQL server: a sensor tick
and an asset run, with runs, events and ticks stored there."""

import shutil

import dagster as dg

from assets.enrichment.sensor import finished_conversations
from assets.knowledge import cultural_topics, curated_insights
from jiwa.paths import PROJECT_ROOT
from tests.support.log import conversation, hours_ago, record
from tests.support.resources import pipeline_resources
from tests.support.sensor import requested_conversations


def test_a_sensor_tick_and_an_asset_run_on_postgresql(postgres, tmp_path, monkeypatch, data_uri):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "pipelines" / "dagster-production.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres.new_database())
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

        resources = pipeline_resources(data_uri)
        record(data_uri, conversation("c1", "ana", ["Halo"], start=hours_ago(2)))
        context = dg.build_sensor_context(
            instance=instance, resources={"stores": resources["stores"], "analysis": resources["analysis"]}
        )
        requests = finished_conversations(context)
        assert requested_conversations(data_uri, requests) == ["c1"]

        result = dg.materialize([cultural_topics, curated_insights], resources=resources, instance=instance)
        assert result.success
        stored = instance.get_run_by_id(result.run_id)
        assert stored is not None and stored.is_success
        assert instance.get_latest_materialization_event(dg.AssetKey("curated_insights")) is not None
    finally:
        instance.dispose()
