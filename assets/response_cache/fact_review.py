"""The team's facts past their review date: a warning check, run every morning, that turns yellow in the UI while the
server leaves the answers citing them to Claude (serving/response_cache.py)."""

from datetime import UTC, datetime

import dagster as dg

from assets.previews import markdown_table
from assets.response_cache.catalogues import curated_facts
from jiwa.catalogue.intents import FACTS_PATH, CuratedFacts


@dg.asset_check(
    asset=curated_facts,
    blocking=False,
    description=f"Every fact is within its review_by date. Past it, refresh the fact in {FACTS_PATH.name} (value, "
    "as_of, review_by, source); the cache rebuilds itself and serves the answers citing it again.",
)
def facts_reviewed_in_time(curated_facts: CuratedFacts) -> dg.AssetCheckResult:
    today = datetime.now(UTC).date()
    overdue = sorted(
        (fact.review_by, fact_id) for fact_id, fact in curated_facts.facts.items() if fact.review_by < today
    )
    return dg.AssetCheckResult(
        passed=not overdue,
        severity=dg.AssetCheckSeverity.WARN,
        description="every fact is within its review date"
        if not overdue
        else f"{len(overdue)} of {len(curated_facts.facts)} facts are past their review date: answers citing them "
        "go to Claude, marked with the day they were last checked",
        metadata={
            "past_review": len(overdue),
            "preview": markdown_table(
                ["fact", "review by", "as of"],
                ([fact_id, review_by, curated_facts.facts[fact_id].as_of] for review_by, fact_id in overdue),
                limit=20,
                empty="None.",
            ),
        },
    )


fact_review_schedule = dg.ScheduleDefinition(
    name="fact_review_schedule",
    cron_schedule="0 7 * * *",
    execution_timezone="Asia/Makassar",
    target=dg.AssetSelection.checks(facts_reviewed_in_time),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning in Bali: which of the team's facts are past their review date.",
)
