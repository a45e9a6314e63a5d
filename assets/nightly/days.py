"""Bali days: the nightly job's daily partitions, and the conversations of one day with the feedback on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

import dagster as dg

from jiwa.conversations.reader import EventReader
from jiwa.enrichment.transcript import Transcript

BALI = ZoneInfo("Asia/Makassar")
nightly_partitions = dg.DailyPartitionsDefinition(start_date="2026-11-01", timezone="Asia/Makassar")


def bali_day_window(partition_key: str) -> tuple[datetime, datetime]:
    """The UTC instants that bound one calendar day in Bali."""
    start = datetime.combine(datetime.strptime(partition_key, "%Y-%m-%d").date(), day_time(0), tzinfo=BALI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def day_conversations(
    reader: EventReader, partition_key: str, max_days: float
) -> tuple[list[Transcript], dict[str, str]]:
    """Conversations with a turn that day (all their turns), and the feedback on their replies as notes by message id."""
    start, end = bali_day_window(partition_key)
    ids = (
        reader.query(
            "SELECT DISTINCT conversation_id FROM events WHERE type = 'turn' AND created_at >= ? AND created_at < ?",
            [start, end],
            since=start,
        )
        .column("conversation_id")
        .to_pylist()
    )
    since = start - timedelta(days=max_days)
    transcripts = [Transcript.from_events(events) for events in reader.conversation_events(ids, since=since).values()]
    feedback = (
        reader.query(
            "SELECT message_id, rating, comment FROM events WHERE type = 'feedback' AND conversation_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
            since=start,
        ).to_pylist()
        if ids
        else []
    )
    notes = {
        row["message_id"]: f"user rated this reply {row['rating']}" + (f": {row['comment']}" if row["comment"] else "")
        for row in feedback
    }
    return sorted(transcripts, key=lambda t: t.conversation_id), notes
