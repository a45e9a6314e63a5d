"""The rows of proposed intents: the questions that joined a proposal, and the analysts' decisions on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from jiwa.domain.rows.columns import Row, one_of
from jiwa.domain.status import ACCEPT, REJECT


class ProposalRow(Row):
    """A question that joined a proposed intent: user data (their words), forgotten with its user."""

    id: str  # the message id
    proposal: str  # the proposal it belongs to
    day: str
    tenant: str
    user_id: str
    question: str
    asked_at: datetime
    run_id: str | None


class IntentDecisionRow(Row):
    """One decision per row, never rewritten, so what was served when stays readable. The content is the analyst's
    own words (phrasings copied from the proposal's questions are refused): no user data."""

    id: str  # proposal and run: one row per decision
    proposal: str
    decision: Annotated[str, one_of(ACCEPT, REJECT)]
    intent: str | None  # the accepted intent's name; null for a rejection
    content: str | None  # JSON: jiwa.catalogue.accepted.AcceptedIntent; null for a rejection
    decided_at: datetime
    run_id: str | None
