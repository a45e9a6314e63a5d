"""Writing conversation-log segments for pipeline tests, the way the server seals them."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from jiwa.convlog import END, FORGET, SEALED_DIR, TURN, LogEvent, events_table, log_root


def conversation(
    conversation_id: str,
    user_id: str,
    user_turns: list[str],
    *,
    start: datetime,
    ended: bool = True,
    tenant: str = "acme",
    gap_s: float = 10.0,
) -> list[LogEvent]:
    """User turns, each answered by the assistant, then (optionally) an explicit end."""
    events = []
    at = start
    for index, text in enumerate(user_turns):
        for role, content in (("user", text), ("assistant", f"Reply {index + 1}: happy to help with that.")):
            events.append(
                LogEvent(
                    f"evt_{uuid.uuid4().hex}",
                    TURN,
                    at,
                    tenant,
                    user_id,
                    conversation_id,
                    f"msg_{uuid.uuid4().hex}",
                    role,
                    content,
                )
            )
            at += timedelta(seconds=gap_s)
    if ended:
        events.append(LogEvent(f"evt_{uuid.uuid4().hex}", END, at, tenant, user_id, conversation_id))
    return events


def forget_event(user_id: str, at: datetime, tenant: str = "acme") -> LogEvent:
    return LogEvent(f"evt_{uuid.uuid4().hex}", FORGET, at, tenant, user_id)


def seal(data_uri: str, events: list[LogEvent]) -> Path:
    """One sealed segment under sealed/dt=<day of its first event>/."""
    day = min(e.created_at for e in events).astimezone(UTC).strftime("%Y-%m-%d")
    path = Path(log_root(data_uri)) / SEALED_DIR / f"dt={day}" / f"test-{uuid.uuid4().hex}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(events_table(events), path)
    return path


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)
