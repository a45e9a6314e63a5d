"""The row of cultural_primer."""

from __future__ import annotations

from datetime import datetime

from jiwa.domain.rows.columns import Row, WideInt


class PrimerRow(Row):
    """The cultural primer the server sends in Claude's cached prefix: one row, the latest, replaced when it changes."""

    id: str  # the text's hash: an identical primer is not written again
    text: str
    tokens: int  # the local estimate (jiwa.claude_cache)
    tokenizer: str
    topics: int
    insights: int
    knowledge_version: WideInt  # the cultural_insights version it distils
    built_at: datetime
    run_id: str | None
