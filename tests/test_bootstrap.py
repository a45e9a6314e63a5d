"""make run's two halves: what needs no model is published at once; LLAMA's work is queued as runs in the UI."""

import subprocess
import sys
import time

import dagster as dg
import lancedb
import pytest

from jiwa.paths import PROJECT_ROOT
from jiwa.store.schema import INSIGHTS_TABLE, PRIMER_TABLE, RESPONSE_CACHE_TABLE
from pipelines import bootstrap
from tests.support.server import free_port


@pytest.fixture()
def instance(tmp_path, data_uri, monkeypatch):
    # The code location's own resources read the environment when a run starts: point them at this test's folder.
    monkeypatch.setenv("JIWA_DATA_URI", data_uri)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_the_first_half_serves_the_curated_base_and_a_team_cache_without_a_model(instance, data_uri):
    started = time.perf_counter()
    bootstrap.publish_without_a_model(instance)
    db = lancedb.connect(data_uri)
    sources = set(db.open_table(INSIGHTS_TABLE).to_arrow().column("source").to_pylist())
    assert sources == {"curated"}
    cache = db.open_table(RESPONSE_CACHE_TABLE).to_arrow().to_pylist()
    assert {row["source"] for row in cache} == {"team"} and any(row["kind"] == "answer" for row in cache)
    assert db.open_table(PRIMER_TABLE).count_rows() == 1
    assert time.perf_counter() - started < 120  # no model call anywhere: seconds, not minutes

    planned = {(run.job, run.tags.get("dagster/partition")) for run in bootstrap.runs_to_queue(instance)}
    categories = bootstrap.cultural_insights.partitions_def.get_partition_keys()
    assert planned == {("llama_insights", c) for c in categories} | {
        ("response_cache", None),
        ("conversation_enrichment", None),
    }
    bootstrap.publish_without_a_model(instance)  # a second make run finds it all current
    assert len(lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).tags.list()) == 1
    assert len(lancedb.connect(data_uri).open_table(PRIMER_TABLE).tags.list()) == 1


def test_the_second_half_queues_runs_in_a_real_dagster_ui(instance, tmp_path):
    # Queued, not launched: no daemon runs here, so nothing starts LLAMA.
    (tmp_path / "dagster" / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"
    )
    port = free_port()
    webserver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        planned = [
            bootstrap.PlannedRun("llama_insights", {"dagster/partition": "phrases_emotions"}, "a category"),
            bootstrap.PlannedRun("response_cache", why="the cache"),
            bootstrap.PlannedRun("conversation_enrichment", why="catching up"),
        ]
        assert bootstrap.queue(planned, "127.0.0.1", port, wait_s=120) == 3
        runs = {run.job_name: run for run in instance.get_runs()}
        assert set(runs) == {"llama_insights", "response_cache", "conversation_enrichment"}
        assert runs["llama_insights"].tags["dagster/partition"] == "phrases_emotions"
        assert all(run.status == dg.DagsterRunStatus.QUEUED for run in runs.values())
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)


def test_queueing_gives_up_with_a_clear_message_when_the_ui_never_answers(caplog):
    planned = [bootstrap.PlannedRun("conversation_enrichment", why="catching up")]
    assert bootstrap.queue(planned, "127.0.0.1", free_port(), wait_s=0) == 0
    assert "launch it from the UI" in caplog.text
