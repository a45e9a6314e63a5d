"""The rows of what the pipeline infers about users: one analysis per conversation, one profile per user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from jiwa.domain.rows.columns import Row, one_of
from jiwa.domain.status import ANALYSIS_FAILED, ANALYSIS_OK


class AnalysisRow(Row):
    id: str  # the conversation id: one current analysis per conversation
    tenant: str
    user_id: str
    # Hash of the conversation's turns: the same content is never analysed twice.
    fingerprint: str
    status: Annotated[str, one_of(ANALYSIS_OK, ANALYSIS_FAILED)]
    attempts: int
    turns: int
    started_at: datetime
    ended_at: datetime
    analysed_at: datetime
    primary_language: str | None
    signals: str  # JSON: marker and language counts, by rule
    analysis: str | None  # JSON: the grounded ConversationAnalysis; null when failed
    dropped_claims: int
    error: str | None
    model: str
    prompt_version: str
    run_id: str | None


class ProfileRow(Row):
    id: str  # the user id
    tenant: str
    user_id: str
    updated_at: datetime
    # When the oldest conversation behind the profile ended: forgetting a user removes profiles from before.
    first_seen: datetime
    conversations: int
    # Hash of the analyses the profile was built from: rebuilding from the same analyses is a no-op.
    sources_fingerprint: str
    profile: str  # JSON: jiwa.domain.profile.Profile
    run_id: str | None
