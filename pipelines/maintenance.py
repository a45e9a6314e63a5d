"""Store compaction: small fragments merged, deleted rows rewritten out of the files, old versions removed."""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from jiwa.convlog import log_root
from jiwa.log_compaction import compact_sealed
from jiwa.settings import get_settings
from jiwa.store.lance import compact
from jiwa.store.schema import USER_DATA_TABLES
from pipelines.resources import StoresResource

_settings = get_settings()


@dg.op(description="Merge the conversation log's small segments per day, and compact every LanceDB table. User-data "
       "tables keep no older version, so forgotten users are gone from disk.")
def compact_stores(context: dg.OpExecutionContext, stores: StoresResource) -> None:
    context.log.info(f"compacted the conversation log: {compact_sealed(Path(log_root(stores.data_uri)))}")
    db = stores.lance()
    retention = timedelta(hours=_settings.store_retention_hours)
    for name in db.table_names():
        keep = None if name in USER_DATA_TABLES else retention
        stats = compact(db.open_table(name), keep_versions_for=keep)
        context.log.info(f"compacted {name}: {stats}")


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
