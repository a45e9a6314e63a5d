"""The rows of feedback_scores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from jiwa.domain.rows.columns import Row, one_of
from jiwa.domain.status import SCORED_CACHE_ANSWER, SCORED_INSIGHT


class FeedbackRow(Row):
    """Ratings of the replies each insight or cached answer shaped, per tenant, counted in distinct users: aggregates
    only. A tenant's users withhold it from that tenant only, so no customer can take content away from another."""

    id: str  # tenant, kind and item together
    tenant: str
    item: str  # the insight id or the cached answer's id
    kind: Annotated[str, one_of(SCORED_INSIGHT, SCORED_CACHE_ANSWER)]
    replies: int
    rated_up_users: int
    rated_down_users: int
    shown_users: int  # distinct users who got a reply it shaped
    down_weight: float  # rated-down users, each within its budget
    team_written: bool  # curated: never withheld by votes, reviewed
    needs_review: bool
    withheld: bool
    scored_at: datetime
