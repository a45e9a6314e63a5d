"""The conversations the chat server stores: an observable source, so lineage starts there."""

from datetime import datetime

import dagster as dg

from assets.resources import StoresResource


@dg.observable_source_asset(
    group_name="conversations",
    tags={"dagster/kind/sqlite": "", "dagster/kind/postgresql": "", "dagster/kind/duckdb": ""},
    description="Turns, conversation ends and feedback, written by the chat server into the conversation store "
    "(JIWA_CONVERSATIONS_URL: SQLite in the data folder by default, or PostgreSQL); read into Arrow and queried "
    "with DuckDB.",
)
def conversation_log(stores: StoresResource) -> dg.ObserveResult:
    summary = (
        stores.event_reader()
        .query(
            """
        SELECT count(*) AS events,
               count(DISTINCT conversation_id) AS conversations,
               count(DISTINCT user_id) AS users,
               count(*) FILTER (WHERE type = 'feedback') AS feedback,
               max(created_at) AS newest
        FROM events
        """
        )
        .to_pylist()
    )
    row = summary[0] if summary else {"events": 0, "conversations": 0, "users": 0, "feedback": 0, "newest": None}
    newest = row["newest"].isoformat() if isinstance(row["newest"], datetime) else "none"
    return dg.ObserveResult(
        data_version=dg.DataVersion(f"{row['events']}@{newest}"),
        metadata={
            "events": row["events"],
            "conversations": row["conversations"],
            "users": row["users"],
            "feedback": row["feedback"],
            "newest_event": newest,
        },
    )
