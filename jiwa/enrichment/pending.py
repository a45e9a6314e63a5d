"""Whether a finished conversation needs analysis, and which attempt that would be: one rule for the sensor and the asset.

A stored analysis covers the conversation's log up to its `ended_at` (the last event it saw). The conversation
needs analysis when nothing is stored, when the log has events newer than that, or when the stored analysis failed
and has attempts left. Attempts count runs that tried the same content; new content starts again at one.
"""

from __future__ import annotations

from datetime import datetime

from jiwa.domain.analysis import StoredAnalysis
from jiwa.domain.status import ANALYSIS_OK


def content_changed(stored: StoredAnalysis | None, last_event_at: datetime) -> bool:
    return stored is None or stored.ended_at < last_event_at


def attempts_so_far(stored: StoredAnalysis | None, last_event_at: datetime, requested_runs: int = 0) -> int:
    """Runs that already tried this content. The table counts runs that stored a failure; the sensor knows of runs it
    requested that died without writing anything (requested_runs, for the same content). The larger is the truth."""
    if stored is None or content_changed(stored, last_event_at) or stored.status == ANALYSIS_OK:
        return requested_runs
    return max(stored.attempts, requested_runs)


def needs_analysis(stored: StoredAnalysis | None, last_event_at: datetime, max_attempts: int) -> bool:
    if stored is None or content_changed(stored, last_event_at):
        return True
    return stored.status != ANALYSIS_OK and stored.attempts < max_attempts
