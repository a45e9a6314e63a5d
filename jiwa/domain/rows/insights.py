"""The rows of the knowledge base (cultural_insights), and the columns every table of insights shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from jiwa.domain.rows.columns import Row, Vector, one_of
from jiwa.domain.status import SERVED_SOURCES, FindingKind


class InsightColumns(Row):
    """What an insight says about its topic: the same in the knowledge base, a night's findings and learned lessons."""

    topic_id: str
    topic: str
    category: str
    insight: str
    guidance: str
    # One list of trigger phrases per language the users write in (jiwa.domain.language.TRIGGER_LANGUAGES).
    triggers_id: list[str] | None
    triggers_en: list[str] | None
    triggers_it: list[str] | None
    tone_tags: list[str] | None
    # Topic, insight and triggers in one column, so full-text search also matches what users write.
    search_text: str


TRIGGER_COLUMNS = tuple(column for column in InsightColumns.columns() if column.startswith("triggers_"))


class LessonColumns(Row):
    """What a learned lesson says, the same in a night's findings and in the candidates built from them."""

    kind: FindingKind
    content: InsightColumns
    vector: Vector


class InsightRow(Row):
    id: str
    content: InsightColumns
    source: Annotated[str, one_of(*SERVED_SOURCES)]
    model: str
    prompt_name: str
    prompt_version: str
    generated_at: datetime
    run_id: str | None
    source_date: str | None
    source_conversations: list[str] | None
    vector: Vector
