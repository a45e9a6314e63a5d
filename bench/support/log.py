"""Conversation events for pipeline tests and benchmarks, written into the conversation store the way the server writes
them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from assets.nightly.days import BALI
from jiwa.conversations import sqlite_url
from jiwa.conversations.events import END, FEEDBACK, FORGET, TURN, LogEvent
from jiwa.conversations.repository import ConversationRepository


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


def record(data_uri: str, events: list[LogEvent], url: str | None = None) -> None:
    """Into the conversation store (the data folder's, unless `url`); a forget event forgets its user as the server
    would."""
    repository = ConversationRepository.open(url or sqlite_url(data_uri))
    try:
        repository.append([e for e in events if e.type != FORGET])
        for event in (e for e in events if e.type == FORGET):
            repository.forget(event.tenant, event.user_id, event.created_at)
    finally:
        repository.close()


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def bali(day: str, hour: float) -> datetime:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=BALI) + timedelta(hours=hour)


def feedback(reply: LogEvent, rating: str, comment: str | None = None, *, user_id: str | None = None) -> LogEvent:
    return LogEvent(
        f"evt_{uuid.uuid4().hex}",
        FEEDBACK,
        reply.created_at + timedelta(seconds=5),
        reply.tenant,
        user_id or reply.user_id,
        reply.conversation_id,
        reply.message_id,
        rating=rating,
        comment=comment,
    )
