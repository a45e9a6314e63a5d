"""The rows of what the nights learn: one finding per conversation, the lessons built from them, and the analysts'
reviews of those lessons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from jiwa.domain.rows.columns import Row, one_of
from jiwa.domain.rows.insights import LessonColumns
from jiwa.domain.status import APPROVED, CANDIDATE, EARNED, REJECTED


class FindingRow(Row):
    """One vetted lesson LLAMA drew from one conversation: user data, forgotten with its user."""

    id: str  # the conversation id: one finding per conversation
    tenant: str
    user_id: str
    day: str  # the Bali day whose night wrote it
    ended_at: datetime  # the conversation's last turn
    lesson: LessonColumns
    model: str
    prompt_version: str
    run_id: str | None


class LearnedRow(Row):
    """Lessons of one tenant, each with the findings that support it (support accumulates across nights)."""

    id: str
    tenant: str
    lesson: LessonColumns
    supporting_conversations: list[str]
    supporting_users: list[str]
    users: int
    first_seen: str
    last_seen: str
    status: Annotated[str, one_of(CANDIDATE, EARNED, APPROVED, REJECTED)]


class ReviewRow(Row):
    """An analyst's decision on a learned lesson, kept with each finding that supported it when it was made."""

    id: str  # the finding id (its conversation)
    candidate: str  # the lesson's id when it was decided
    decision: Annotated[str, one_of(APPROVED, REJECTED)]
    decided_at: datetime
    run_id: str | None
