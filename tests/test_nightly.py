"""The nightly learning job: its schedule and partitions, findings into the knowledge base with provenance and
without duplicates, profiles refreshed, intents proposed from cache misses, and compaction."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import lancedb

from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.nightly import compacted_stores, nightly_insights, proposed_intents, refreshed_profiles
from assets.nightly.days import BALI, bali_day_window
from jiwa.convlog import FEEDBACK, LogEvent
from jiwa.store.schema import INSIGHTS_TABLE
from pipelines.definitions import defs
from tests.support.fakes import FakeLlamaResource
from tests.support.log import conversation, seal
from tests.support.server import publish_insights

DAY = "2026-11-23"
NIGHTLY = [nightly_insights, refreshed_profiles, proposed_intents, compacted_stores]


def _bali(hour: float, day: str = DAY) -> datetime:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=BALI) + timedelta(hours=hour)


def _night(resources, day=DAY, instance=None):
    result = dg.materialize(
        NIGHTLY, resources=resources, partition_key=day, instance=instance or dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def _nightly_rows(data_uri):
    table = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE)
    return [row for row in table.to_arrow().to_pylist() if row["source"] == "llama_nightly"]


def test_schedule_runs_at_three_in_bali_over_the_day_before():
    schedule = defs.get_schedule_def("nightly_learning_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * *", "Asia/Makassar")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 24, 3, 0, tzinfo=BALI))
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == [DAY]
    # A Bali day is 16:00 to 16:00 UTC.
    assert bali_day_window(DAY) == (datetime(2026, 11, 22, 16, tzinfo=UTC), datetime(2026, 11, 23, 16, tzinfo=UTC))


def test_a_night_adds_findings_with_provenance_refreshes_profiles_and_reruns_cleanly(resources, data_uri):
    events = conversation("c_day", "ana", ["Maaf, saya bingung soal KITAS", "Terima kasih"], start=_bali(10))
    events += conversation("c_late", "ben", ["Hello, late question about NPWP"], start=_bali(23.9))  # 23:54 in Bali
    events += conversation("c_next", "cai", ["Next day question"], start=_bali(24.5))  # the following day
    reply = next(e for e in events if e.conversation_id == "c_day" and e.role == "assistant")
    events.append(
        LogEvent(
            f"evt_{uuid.uuid4().hex}",
            FEEDBACK,
            _bali(10.2),
            "acme",
            "ana",
            "c_day",
            reply.message_id,
            rating="down",
            comment="too vague",
        )
    )
    seal(data_uri, events)
    assert dg.materialize(
        [conversation_analyses, jiwa_profiles], resources=resources, instance=dg.DagsterInstance.ephemeral()
    ).success

    first = _night(resources)
    assert first["nightly_insights"]["conversations"] == 2 and first["nightly_insights"]["rated_conversations"] == 1
    rows = _nightly_rows(data_uri)
    assert {tuple(row["source_conversations"]) for row in rows} <= {("c_day",), ("c_late",)} and rows
    assert all(row["source_date"] == DAY and row["category"] == "nightly" for row in rows)
    assert "nightly_phrasing_failed" in {row["topic_id"] for row in rows}  # learnt from the down-rating
    assert first["refreshed_profiles"]["users_that_day"] == 2
    assert first["compacted_stores"]["tables"]

    _night(resources)  # a rerun (or a backfill) of the same day replaces that day's rows
    assert sorted(r["id"] for r in _nightly_rows(data_uri)) == sorted(r["id"] for r in rows)


def test_findings_already_in_the_knowledge_base_are_not_added(resources, data_uri):
    publish_insights(resources)
    existing = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).to_arrow().to_pylist()[0]
    duplicate = json.dumps(
        {
            "kind": "cultural_pattern",
            "insight": existing["insight"],
            "guidance": existing["guidance"],
            "triggers": {"id": existing["triggers_id"], "en": existing["triggers_en"], "it": existing["triggers_it"]},
            "tone_tags": ["warm"],
        }
    )
    seal(data_uri, conversation("c1", "ana", ["Maaf, saya malu"], start=_bali(9)))
    night = dg.materialize(
        [nightly_insights],
        resources={**resources, "llama": FakeLlamaResource(script=[duplicate])},
        partition_key=DAY,
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = {k: v.value for k, v in night.asset_materializations_for_node("nightly_insights")[0].metadata.items()}
    assert metadata["findings"] == 1 and metadata["duplicates_of_knowledge_base"] == 1 and metadata["added"] == 0
    assert _nightly_rows(data_uri) == []


def test_frequent_cache_misses_are_proposed_not_served(resources, data_uri):
    events = []
    for index, text in enumerate(
        [
            "Can I bring my dog to Bali?",
            "can i bring my dog to bali",
            "Can I bring my dog into Bali?",
            "How much is a KITAS?",
        ]
    ):
        events += conversation(f"c{index}", f"user{index}", [text], start=_bali(8 + index))
    seal(data_uri, events)
    result = dg.materialize(
        [proposed_intents], resources=resources, partition_key=DAY, instance=dg.DagsterInstance.ephemeral()
    )
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("proposed_intents")[0].metadata.items()}
    assert metadata["proposals"] == 1
    proposal = metadata["proposed"][0]
    assert "dog" in proposal["representative"].lower() and proposal["messages"] == 3 and proposal["users"] == 3
    assert "intents.yaml" in metadata["preview"]
