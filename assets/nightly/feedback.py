"""Feedback that changes what is served: every reply logs the insights and the cached answer that shaped it, so the
ratings of those replies score them. One rated down by enough distinct users is withheld until users say otherwise."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa

from assets.previews import markdown_table
from assets.resources import LearningResource, StoresResource
from jiwa.convlog import FEEDBACK, TURN
from jiwa.store.lance import upsert
from jiwa.store.schema import FEEDBACK_TABLE, SCORED_CACHE_ANSWER, SCORED_INSIGHT, feedback_schema
from jiwa.versions import code_version

# Per tenant: a user's latest rating of a reply counts, and a user counts once per insight or answer however many
# replies they rated. One tenant's users can withhold something from that tenant only.
_SCORES = f"""
WITH ratings AS (
    SELECT message_id, tenant, user_id, arg_max(rating, created_at) AS rating
    FROM events WHERE type = '{FEEDBACK}' GROUP BY message_id, tenant, user_id
),
replies AS (
    SELECT message_id, tenant, insight_ids, cache_answer FROM events WHERE type = '{TURN}' AND role = 'assistant'
),
shaped AS (
    SELECT unnest(insight_ids) AS item, '{SCORED_INSIGHT}' AS kind, message_id, tenant FROM replies
    UNION ALL
    SELECT cache_answer, '{SCORED_CACHE_ANSWER}', message_id, tenant FROM replies WHERE cache_answer IS NOT NULL
)
SELECT s.tenant || chr(31) || s.kind || chr(31) || s.item AS id, s.tenant, s.item, s.kind,
       count(DISTINCT s.message_id)::INTEGER AS replies,
       count(DISTINCT r.user_id) FILTER (WHERE r.rating = 'up')::INTEGER AS rated_up_users,
       count(DISTINCT r.user_id) FILTER (WHERE r.rating = 'down')::INTEGER AS rated_down_users
FROM shaped s LEFT JOIN ratings r ON r.message_id = s.message_id AND r.tenant = s.tenant
GROUP BY s.tenant, s.kind, s.item
HAVING count(r.rating) > 0
ORDER BY id
"""


@dg.asset(
    group_name="nightly",
    kinds={"duckdb", "lancedb"},
    deps=["conversation_log"],
    code_version=code_version(Path(__file__)),
    description="Ratings of the replies each insight and cached answer shaped, per tenant, in distinct users, over "
    "the whole store (late feedback included). Withheld from a tenant: what JIWA_LEARNING_WITHHOLD_AFTER_USERS of "
    "its users or more rated down, more than rated it up.",
)
def feedback_scores(stores: StoresResource, learning: LearningResource):
    threshold = learning.settings().withhold_after_users
    scored = stores.event_reader().query(_SCORES).to_pylist()
    now = datetime.now(UTC)
    rows = [
        {
            **row,
            "withheld": row["rated_down_users"] >= threshold and row["rated_down_users"] > row["rated_up_users"],
            "scored_at": now,
        }
        for row in scored
    ]
    schema = feedback_schema()
    table = upsert(
        stores.lance(), FEEDBACK_TABLE, schema, pa.Table.from_pylist(rows, schema=schema), replace_scope="true"
    )
    table.optimize()
    withheld = [row for row in rows if row["withheld"]]
    return dg.MaterializeResult(
        metadata={
            "scored": len(rows),
            "withheld": len(withheld),
            "withhold_after_users": threshold,
            "table_version": table.version,
            "preview": markdown_table(
                ["withheld", "kind", "replies", "users rating up", "users rating down"],
                (
                    [row["id"], row["kind"], row["replies"], row["rated_up_users"], row["rated_down_users"]]
                    for row in withheld
                ),
                limit=50,
                empty="Nothing is withheld: no insight or cached answer was rated down by enough users.",
            ),
        }
    )
