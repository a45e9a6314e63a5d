"""The team's attack corpus against nightly learning, with a fake LLAMA that copies the attacker's words verbatim
into its finding (the worst case): nothing planted may be stored as knowledge, and every drop is counted."""

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta

import dagster as dg
import lancedb
import yaml

from assets.nightly import nightly_insights
from assets.nightly.days import BALI
from jiwa.convlog import FEEDBACK, LogEvent
from jiwa.paths import PROJECT_ROOT
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.fakes import FakeLlamaResource
from tests.support.log import conversation, seal

DAY = "2026-11-20"
ATTEMPTS = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "attack_corpus.yaml").read_text())["attempts"]


def _verbatim_finding(attempt: dict) -> str:
    payload = " ".join([*attempt["user_turns"], attempt["feedback"].get("comment") or ""]).strip()
    return json.dumps(
        {
            "kind": "cultural_pattern",
            "insight": f"Lesson: {payload}"[:280],
            "guidance": f"Tell users: {attempt['feedback'].get('comment') or attempt['user_turns'][0]}"[:280],
            "triggers": {"id": [payload[:80]], "en": [payload[:80]], "it": [payload[:80]]},
            "tone_tags": ["warm"],
        }
    )


def test_no_planted_lesson_is_stored_even_when_the_model_copies_it_verbatim(resources, data_uri):
    start = datetime(2026, 11, 20, 9, tzinfo=BALI)
    events = []
    for index, attempt in enumerate(ATTEMPTS):
        turns = conversation(
            attempt["id"], f"attacker{index % 4}", attempt["user_turns"], start=start + timedelta(minutes=index)
        )
        reply = next(event for event in turns if event.role == "assistant")
        feedback = attempt["feedback"]
        turns.append(
            LogEvent(
                f"evt_{uuid.uuid4().hex}",
                FEEDBACK,
                reply.created_at + timedelta(seconds=5),
                "acme",
                reply.user_id,
                attempt["id"],
                reply.message_id,
                rating=feedback["rating"],
                comment=feedback.get("comment"),
            )
        )
        events += turns
    seal(data_uri, events)
    # Every conversation is rated, so the night reads them in conversation-id order.
    script = [_verbatim_finding(attempt) for attempt in sorted(ATTEMPTS, key=lambda a: a["id"])]
    result = dg.materialize(
        [nightly_insights],
        resources=dict(resources, llama=FakeLlamaResource(script=script, max_retries=0)),
        partition_key=DAY,
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = result.asset_materializations_for_node("nightly_insights")[0].metadata
    screened = Counter(metadata["screened_out"].value)
    assert metadata["read"].value == len(ATTEMPTS) >= 36
    assert sum(screened.values()) + metadata["dropped_invalid"].value == len(ATTEMPTS), screened
    assert metadata["added"].value == 0

    db = lancedb.connect(data_uri)
    stored = db.open_table(INSIGHTS_TABLE).to_arrow().to_pylist() if INSIGHTS_TABLE in db.table_names() else []
    text = json.dumps(stored, default=str).casefold()
    leaked = [canary for attempt in ATTEMPTS for canary in attempt["canaries"] if canary in text]
    assert leaked == []
