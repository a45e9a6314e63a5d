"""Feedback that changes what is served: every reply logs the insights and the cached answer that shaped it, so the
ratings of those replies score them. One rated down by enough distinct users is withheld until users say otherwise."""

from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa

from assets.previews import markdown_table
from assets.resources import LearningResource, StoresResource
from assets.versions import asset_code_version
from jiwa.conversations.events import FEEDBACK, TURN
from jiwa.domain.rows.feedback import FeedbackRow
from jiwa.domain.status import SCORED_CACHE_ANSWER, SCORED_INSIGHT
from jiwa.store.lance import upsert
from jiwa.store.learned import team_written_ids
from jiwa.store.schema import FEEDBACK_TABLE, feedback_schema

# Per tenant: a user's latest rating of a reply counts, and a user counts once per insight or answer however many
# replies they rated. One tenant's users can withhold something from that tenant only. An account that rated down
# more than `budget` items of its tenant has its vote split between them, so a few accounts cannot strip a base.
_SCORES = f"""
WITH ratings AS (
    SELECT message_id, tenant, user_id, arg_max(rating, created_at) AS rating
    FROM events WHERE type = '{FEEDBACK}' GROUP BY message_id, tenant, user_id
),
replies AS (
    SELECT message_id, tenant, user_id, insight_ids, cache_answer
    FROM events WHERE type = '{TURN}' AND role = 'assistant'
),
shaped AS (
    SELECT unnest(insight_ids) AS item, '{SCORED_INSIGHT}' AS kind, message_id, tenant, user_id FROM replies
    UNION ALL
    SELECT cache_answer, '{SCORED_CACHE_ANSWER}', message_id, tenant, user_id FROM replies WHERE cache_answer IS NOT NULL
),
votes AS (
    SELECT DISTINCT s.tenant, s.kind, s.item, r.user_id, r.rating
    FROM shaped s JOIN ratings r ON r.message_id = s.message_id AND r.tenant = s.tenant
),
weights AS (
    SELECT tenant, user_id, least(1.0, $budget / count(*)) AS weight
    FROM votes WHERE rating = 'down' GROUP BY tenant, user_id
)
SELECT s.tenant || chr(31) || s.kind || chr(31) || s.item AS id, s.tenant, s.item, s.kind,
       count(DISTINCT s.message_id)::INTEGER AS replies,
       count(DISTINCT s.user_id)::INTEGER AS shown_users,
       (SELECT count(*) FROM votes v WHERE v.tenant = s.tenant AND v.kind = s.kind AND v.item = s.item
            AND v.rating = 'up')::INTEGER AS rated_up_users,
       (SELECT count(*) FROM votes v WHERE v.tenant = s.tenant AND v.kind = s.kind AND v.item = s.item
            AND v.rating = 'down')::INTEGER AS rated_down_users,
       coalesce((SELECT sum(w.weight) FROM votes v JOIN weights w USING (tenant, user_id)
            WHERE v.tenant = s.tenant AND v.kind = s.kind AND v.item = s.item AND v.rating = 'down'), 0.0) AS down_weight
FROM shaped s
GROUP BY s.tenant, s.kind, s.item
HAVING rated_up_users + rated_down_users > 0
ORDER BY id
"""


def verdict(row: dict, team_items: set[str], knobs) -> dict:
    """Withheld: rated down by enough of the tenant's users, also by weight and by share of those shown it, and by
    more than rated it up. Curated content is never withheld by votes: enough of them put it before an analyst."""
    disliked = row["rated_down_users"] >= knobs.withhold_after_users and row["rated_down_users"] > row["rated_up_users"]
    against = (
        disliked
        and row["down_weight"] >= knobs.withhold_after_users
        and row["rated_down_users"] >= knobs.withhold_min_share * row["shown_users"]
    )
    team = row["item"] in team_items
    return {**row, "team_written": team, "needs_review": disliked and team, "withheld": against and not team}


@dg.asset(
    group_name="nightly",
    kinds={"duckdb", "lancedb"},
    deps=["conversation_log"],
    code_version=asset_code_version(__name__),
    description="Ratings of the replies each insight and cached answer shaped, per tenant, in distinct users, over "
    "the whole store (late feedback included). Withheld from a tenant: what its users rated down by enough weight "
    "(each account within its budget) and share of those shown it; curated content goes to an analyst instead.",
)
def feedback_scores(stores: StoresResource, learning: LearningResource):
    knobs = learning.settings()
    db = stores.lance()
    team_items = team_written_ids(db)
    scored = stores.event_reader().query(_SCORES, {"budget": float(knobs.rater_budget)}).to_pylist()
    now = datetime.now(UTC)
    rows = [FeedbackRow(**verdict(row, team_items, knobs), scored_at=now).to_columns() for row in scored]
    schema = feedback_schema()
    if FEEDBACK_TABLE in db.table_names() and db.open_table(FEEDBACK_TABLE).schema != schema:
        db.drop_table(FEEDBACK_TABLE)  # derived whole every night: a new version's columns start it afresh
    table = upsert(db, FEEDBACK_TABLE, schema, pa.Table.from_pylist(rows, schema=schema), replace_scope="true")
    table.optimize()
    withheld = [row for row in rows if row["withheld"]]
    review = [row for row in rows if row["needs_review"]]
    return dg.MaterializeResult(
        metadata={
            "scored": len(rows),
            "withheld": len(withheld),
            "needs_review": len(review),
            "withhold_after_users": knobs.withhold_after_users,
            "withhold_min_share": knobs.withhold_min_share,
            "rater_budget": knobs.rater_budget,
            "review_preview": markdown_table(
                ["team-written, rated down: for an analyst", "kind", "users shown it", "users rating down"],
                ([row["id"], row["kind"], row["shown_users"], row["rated_down_users"]] for row in review),
                limit=50,
                empty="No team-written insight or answer was rated down by enough users.",
            ),
            "table_version": table.version,
            "preview": markdown_table(
                ["withheld", "kind", "replies", "users shown it", "users rating up", "users rating down"],
                (
                    [
                        row["id"],
                        row["kind"],
                        row["replies"],
                        row["shown_users"],
                        row["rated_up_users"],
                        row["rated_down_users"],
                    ]  # fmt: skip
                    for row in withheld
                ),
                limit=50,
                empty="Nothing is withheld: no insight or cached answer was rated down by enough users.",
            ),
        }
    )
