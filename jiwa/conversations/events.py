"""Conversation events: what the server records of every turn, end, feedback, forget and memory correction, and
their Arrow schema. A correction keeps its {field, value, action} as JSON in `content` (jiwa.enrichment.corrections).

They are stored in the conversation store (jiwa.conversations), which the pipeline reads into Arrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

TURN = "turn"
END = "end"
FEEDBACK = "feedback"
FORGET = "forget"
CORRECTION = "correction"

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("conversation_id", pa.string()),
        pa.field("message_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("content", pa.string()),
        pa.field("language", pa.string()),
        pa.field("source", pa.string()),
        pa.field("cache_intent", pa.string()),
        pa.field("cache_answer", pa.string()),  # the cached answer variant served (its id in the cache table)
        pa.field("insight_ids", pa.list_(pa.string())),
        pa.field("model", pa.string()),
        pa.field("input_tokens", pa.int32()),
        pa.field("output_tokens", pa.int32()),
        pa.field("rating", pa.string()),
        pa.field("comment", pa.string()),
    ]
)


@dataclass
class LogEvent:
    event_id: str
    type: str
    created_at: datetime
    tenant: str
    user_id: str
    conversation_id: str | None = None
    message_id: str | None = None
    role: str | None = None
    content: str | None = None
    language: str | None = None
    source: str | None = None
    cache_intent: str | None = None
    cache_answer: str | None = None
    insight_ids: list[str] = field(default_factory=list)
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    rating: str | None = None
    comment: str | None = None
    # Not stored: when what this event answers was stamped. A reply is written after its question, so a forget that
    # commits in between must drop it too (the repository compares the earlier of the two stamps with the forget).
    answers_from: datetime | None = None

    @classmethod
    def from_dict(cls, payload: dict) -> LogEvent:
        created = payload["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        known = {key: value for key, value in payload.items() if key in _FIELDS}
        return cls(**{**known, "created_at": created, "insight_ids": list(payload.get("insight_ids") or [])})


_FIELDS = set(LogEvent.__dataclass_fields__)


def events_table(events: Iterable[LogEvent]) -> pa.Table:
    rows = [asdict(event) for event in events]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
