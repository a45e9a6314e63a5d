"""Which finished conversations a run takes: those the sensor named by token, or every one still due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jiwa.enrichment.pending import needs_analysis
from jiwa.enrichment.tokens import resolve, token_key
from jiwa.settings import AnalysisSettings
from jiwa.store.analyses import stored_analyses


def _finished(reader, policy: AnalysisSettings) -> list[dict]:
    """Conversations that finished within the window a run reads, oldest ready first."""
    now = datetime.now(UTC)
    since = now - timedelta(days=policy.conversation_max_days)
    return reader.ready_conversations(
        after=since, until=now, idle_s=policy.conversation_idle_timeout_s, scan_from=since
    )


def resolve_tokens(reader, data_uri: str, policy: AnalysisSettings, tokens: list[str]) -> list[str]:
    """The conversations behind the sensor's tokens, among those finished within the window a run reads."""
    if not tokens:
        return []
    return resolve(token_key(data_uri), tokens, [row["conversation_id"] for row in _finished(reader, policy)])


def pending_conversations(reader, db, policy: AnalysisSettings, limit: int) -> list[str]:
    """Finished conversations of the recent log that need analysis, oldest ready first."""
    ready = _finished(reader, policy)
    stored = stored_analyses(db, [row["conversation_id"] for row in ready])
    due = [
        row["conversation_id"]
        for row in ready
        if needs_analysis(stored.get(row["conversation_id"]), row["last_event_at"], policy.analysis_max_attempts)
    ]
    return due[:limit]
