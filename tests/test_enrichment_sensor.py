"""The finished_conversations sensor: its cursor, the idle timeout, no double requests, retries, and batching."""

import json
from datetime import UTC, datetime

import dagster as dg
import lancedb
import pytest

from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.enrichment.sensor import EnrichmentCursor, finished_conversations
from assets.resources import AnalysisResource, StoresResource
from jiwa.conversations.events import END, LogEvent
from jiwa.settings import AnalysisSettings
from jiwa.store.schema import ANALYSES_TABLE
from tests.support.log import conversation, hours_ago, record
from tests.support.resources import pipeline_resources
from tests.support.sensor import requested_conversations, token_of

IDLE_H = AnalysisSettings().conversation_idle_timeout_s / 3600


def _tick(data_uri, cursor=None, instance=None, **policy):
    resources = {"stores": StoresResource(data_uri=data_uri), "analysis": AnalysisResource(**policy)}
    context = dg.build_sensor_context(
        cursor=cursor, resources=resources, instance=instance or dg.DagsterInstance.ephemeral()
    )
    result = finished_conversations(context)
    assert isinstance(result, list | dg.SkipReason), result
    requests = result if isinstance(result, list) else []
    return requested_conversations(data_uri, requests), requests, context.cursor


def _analyse(data_uri, request):
    resources = pipeline_resources(data_uri)
    assert dg.materialize(
        [conversation_analyses, jiwa_profiles],
        resources=resources,
        run_config=request.run_config,
        instance=dg.DagsterInstance.ephemeral(),
    ).success


def test_ended_and_idle_conversations_are_requested_once(data_uri):
    record(data_uri, conversation("ended", "u1", ["Hello, KITAS question"], start=hours_ago(0.2)))
    record(data_uri, conversation("idle", "u2", ["Halo, saya mau tanya"], start=hours_ago(IDLE_H + 0.5), ended=False))
    record(data_uri, conversation("open", "u3", ["Still typing..."], start=hours_ago(0.1), ended=False))
    ids, requests, cursor = _tick(data_uri)
    assert sorted(ids) == ["ended", "idle"]
    assert requests[0].run_key.startswith("analyse-") and requests[0].tags["jiwa/conversations"] == "2"
    assert EnrichmentCursor.parse(cursor).watermark is not None

    again, _, _ = _tick(data_uri, cursor)
    assert again == []  # in flight: not requested twice while its run may still be queued


def test_analysed_conversations_leave_the_cursor_and_new_turns_bring_them_back(data_uri):
    record(data_uri, conversation("c1", "u1", ["Hi, how much is a KITAS?"], start=hours_ago(0.3)))
    ids, requests, cursor = _tick(data_uri)
    assert ids == ["c1"]
    _analyse(data_uri, requests[0])
    ids, _, cursor = _tick(data_uri, cursor)
    assert ids == [] and json.loads(cursor)["inflight"] == {}

    record(data_uri, conversation("c1", "u1", ["And a KITAP?"], start=hours_ago(0.05)))
    ids, _, _ = _tick(data_uri, cursor)
    assert ids == ["c1"]


def test_a_conversation_whose_run_failed_is_requested_again_after_the_retry_delay(data_uri):
    record(data_uri, conversation("c1", "u1", ["Hello"], start=hours_ago(0.3)))
    ids, _, cursor = _tick(data_uri)
    assert ids == ["c1"]
    # The run never wrote anything (it failed); once the retry delay has passed the sensor asks again.
    ids, requests, cursor = _tick(data_uri, cursor, analysis_retry_after_s=0.0)
    assert ids == ["c1"] and json.loads(cursor)["inflight"][token_of(data_uri, "c1")]["tries"] == 2
    ids, _, cursor = _tick(data_uri, cursor, analysis_retry_after_s=0.0, analysis_max_attempts=2)
    assert ids == [] and token_of(data_uri, "c1") not in json.loads(cursor)["inflight"]


def test_many_conversations_are_batched_into_few_runs(data_uri):
    events = []
    for index in range(25):
        events += conversation(f"c{index:02d}", f"u{index}", ["Hello"], start=hours_ago(0.5))
    record(data_uri, events)
    ids, requests, _ = _tick(data_uri, analysis_batch_size=10)
    assert len(ids) == 25 and [
        len(r.run_config["ops"]["conversation_analyses"]["config"]["conversation_tokens"]) for r in requests
    ] == [
        10,
        10,
        5,
    ]
    assert len({request.run_key for request in requests}) == 3


def test_backpressure_holds_the_watermark_until_runs_drain(data_uri, monkeypatch):
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.setattr("assets.enrichment.sensor._pending_runs", lambda context: 2)  # one slot left of three
    events = []
    for index in range(5):
        events += conversation(f"c{index}", f"u{index}", ["Hello"], start=hours_ago(0.5 - index * 0.01))
    record(data_uri, events)
    ids, _, cursor = _tick(data_uri, instance=instance, analysis_batch_size=2)
    assert ids == ["c0", "c1"]
    monkeypatch.setattr("assets.enrichment.sensor._pending_runs", lambda context: 0)
    ids, _, _ = _tick(data_uri, cursor, instance=instance, analysis_batch_size=2)
    assert ids == ["c2", "c3", "c4"]


@pytest.mark.parametrize("cursor", [None, ""])
def test_first_tick_with_an_empty_log_skips(data_uri, cursor):
    resources = {"stores": StoresResource(data_uri=data_uri), "analysis": AnalysisResource()}
    context = dg.build_sensor_context(cursor=cursor, resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert isinstance(finished_conversations(context), dg.SkipReason)


def test_an_end_marker_after_the_analysis_refreshes_the_row_without_a_model_call(data_uri):
    record(data_uri, conversation("c1", "u1", ["Hello, a KITAS question"], start=hours_ago(IDLE_H + 1), ended=False))
    ids, requests, cursor = _tick(data_uri)
    assert ids == ["c1"]
    _analyse(data_uri, requests[0])
    ended_at = datetime.now(UTC)
    record(data_uri, [LogEvent("evt_end_c1", END, ended_at, "acme", "u1", "c1")])

    ids, requests, cursor = _tick(data_uri, cursor)
    assert ids == ["c1"]  # the log has news the stored analysis does not cover
    result = dg.materialize(
        [conversation_analyses],
        resources=pipeline_resources(data_uri),
        run_config=requests[0].run_config,
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = result.asset_materializations_for_node("conversation_analyses")[0].metadata
    assert metadata["analysed"].value == 0 and metadata["completion_tokens"].value == 0  # same turns: no model call
    row = lancedb.connect(data_uri).open_table(ANALYSES_TABLE).to_arrow().to_pylist()[0]
    assert row["ended_at"] == ended_at and row["status"] == "ok"
    ids, _, _ = _tick(data_uri, cursor)
    assert ids == []  # the sensor and the asset agree: nothing left to do


def test_the_attempt_rule_counts_stored_failures_and_runs_that_died():
    from jiwa.domain.analysis import StoredAnalysis
    from jiwa.enrichment.pending import attempts_so_far, needs_analysis

    at = datetime(2026, 11, 20, tzinfo=UTC)
    failed_twice = StoredAnalysis(fingerprint="f", status="failed", attempts=2, ended_at=at)
    assert attempts_so_far(None, at) == 0 and needs_analysis(None, at, max_attempts=3)
    assert attempts_so_far(failed_twice, at) == 2 and needs_analysis(failed_twice, at, max_attempts=3)
    assert attempts_so_far(failed_twice, at, requested_runs=3) == 3  # a run that died wrote nothing, but it counts
    assert not needs_analysis(failed_twice, at, max_attempts=2)
    later = at.replace(hour=1)
    assert attempts_so_far(failed_twice, later) == 0 and needs_analysis(
        failed_twice, later, max_attempts=2
    )  # new content
    done = StoredAnalysis(fingerprint="f", status="ok", attempts=1, ended_at=at)
    assert not needs_analysis(done, at, max_attempts=3) and needs_analysis(done, later, max_attempts=3)
