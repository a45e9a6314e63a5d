"""Store compaction on a clock: small fragments merged, deleted rows rewritten out of the files, old versions removed."""

import dagster as dg

from assets.resources import StoresResource
from jiwa.store import compaction


@dg.op(
    description="Erase deleted conversations physically (SQLite: secure_delete and a WAL checkpoint; PostgreSQL: VACUUM), and "
    "compact every LanceDB table. User-data tables keep no older version, so forgotten users are gone from disk."
)
def compact_stores(context: dg.OpExecutionContext, stores: StoresResource) -> None:
    stats = compaction.compact_stores(
        stores.uri, stores.settings().conversations_db, retention_hours=stores.settings().store_retention_hours
    )
    context.log.info(f"erased deleted conversations: {stats['conversations']}")
    for name, table_stats in stats["tables"].items():
        context.log.info(f"compacted {name}: {table_stats}")


@dg.job(description="Compaction of the stores; run hourly, and on demand after forgetting a user.")
def store_compaction():
    compact_stores()


hourly_compaction = dg.ScheduleDefinition(
    name="hourly_compaction",
    job=store_compaction,
    cron_schedule="15 * * * *",
    execution_timezone="Asia/Makassar",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly, so a forgotten user's rows are physically gone within the hour.",
)
