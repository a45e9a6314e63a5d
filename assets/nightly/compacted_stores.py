"""After the night's writes, every store compacted: the same compaction as the hourly maintenance job."""

import dagster as dg

from assets.nightly.days import nightly_partitions
from assets.nightly.feedback import feedback_scores
from assets.nightly.learned import learned_insights
from assets.nightly.proposals import proposed_intents
from assets.nightly.refreshed_profiles import refreshed_profiles
from assets.resources import StoresResource
from assets.versions import asset_code_version
from jiwa.store.compaction import compact_stores


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"lancedb"},
    deps=[learned_insights, feedback_scores, refreshed_profiles, proposed_intents],
    code_version=asset_code_version(__name__),
    description="After the night's writes: every table compacted; knowledge tables keep JIWA_STORE_RETENTION_HOURS "
    "of versions, tables derived from users none.",
)
def compacted_stores(context: dg.AssetExecutionContext, stores: StoresResource):
    stats = compact_stores(
        stores.uri, stores.settings().conversations_db, retention_hours=stores.settings().store_retention_hours
    )
    return dg.MaterializeResult(
        metadata={
            "conversations": dg.MetadataValue.json(stats["conversations"]),
            "tables": dg.MetadataValue.json(stats["tables"]),
            "versions_removed": stats["versions_removed"],
            "bytes_removed": stats["bytes_removed"],
        }
    )
