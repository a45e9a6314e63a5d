"""The JIWA profiles of everyone who talked to Jiwa that day, folded again after the night's learning."""

import dagster as dg

from assets.enrichment.jiwa_profiles import rebuild_profiles
from assets.nightly.days import day_conversations, nightly_partitions
from assets.nightly.findings import nightly_findings
from assets.resources import AnalysisResource, StoresResource
from assets.versions import asset_code_version


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"lancedb"},
    deps=[nightly_findings, "conversation_analyses"],
    code_version=asset_code_version(__name__),
    description="The JIWA profiles of everyone who talked to Jiwa that day, folded again from their latest analyses.",
)
def refreshed_profiles(context: dg.AssetExecutionContext, stores: StoresResource, analysis: AnalysisResource):
    transcripts, _ = day_conversations(
        stores.event_reader(), context.partition_key, analysis.settings().conversation_max_days
    )
    users = sorted({(t.tenant, t.user_id) for t in transcripts})
    result = rebuild_profiles(context, stores, users) if users else None
    failed = [
        check.check_name or "an unnamed check" for check in (result.check_results if result else []) if not check.passed
    ]
    if failed:
        raise dg.Failure(f"profiles for {context.partition_key} failed their checks: {', '.join(failed)}")
    metadata = dict(result.metadata or {}) if result else {"users_updated": 0}
    return dg.MaterializeResult(metadata={**metadata, "day": context.partition_key, "users_that_day": len(users)})
