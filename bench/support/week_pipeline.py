"""The real Dagster code after each day of `python -m bench.week`: the night (a tick of the finished_conversations
sensor, the conversation_enrichment runs it asks for, the nightly_learning partition of that day), and a scripted
analyst working through the launches the team uses (review_intent_proposal with the reviewed answers of
bench/data/week_analyst_backlog.yaml, review_learned_insights)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta

import dagster as dg

from assets import nightly, response_cache
from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.enrichment.sensor import EnrichmentCursor, finished_conversations
from assets.nightly.days import BALI
from bench.support.metadata import step_errors
from bench.support.week_client import table_rows
from jiwa.domain.status import APPROVED, REJECTED
from jiwa.settings import AnalysisSettings
from jiwa.store.schema import LEARNED_TABLE, PROPOSALS_TABLE

TEAM_ONLY = {"paraphrases_per_language": 0, "variants_per_language": 0}
log = logging.getLogger("bench.week")


def launch(defs, job: str, resources: dict, instance: dg.DagsterInstance, **options) -> dg.ExecuteInProcessResult:
    """A job of `defs` run in process on the week's resources and instance, as a launch from the UI would."""
    merged = dg.Definitions.merge(defs, dg.Definitions(resources=resources))
    return merged.resolve_job_def(job).execute_in_process(instance=instance, **options)


def night(date_key: str, resources: dict, instance: dg.DagsterInstance) -> dict:
    started = time.perf_counter()
    start_of_day = datetime.strptime(date_key, "%Y-%m-%d").replace(tzinfo=BALI)
    lag = timedelta(seconds=AnalysisSettings().analysis_sensor_lag_s)
    cursor = EnrichmentCursor(watermark=start_of_day + lag).dump()
    sensor_resources = {"stores": resources["stores"], "analysis": resources["analysis"]}
    context = dg.build_sensor_context(resources=sensor_resources, instance=instance, cursor=cursor)
    requests = finished_conversations(context)
    analysed = 0
    for request in requests if isinstance(requests, list) else []:
        result = dg.materialize(
            [conversation_analyses, jiwa_profiles],
            resources=resources,
            run_config=request.run_config,
            instance=instance,
            tags=request.tags,
        )
        assert result.success, "conversation_enrichment failed"
        analysed += len(request.run_config["ops"]["conversation_analyses"]["config"]["conversation_tokens"])
    enriched = time.perf_counter() - started
    result = launch(nightly.defs, "nightly_learning", resources, instance, partition_key=date_key)
    assert result.success, "nightly_learning failed"
    metadata = {
        event.materialization.asset_key.to_user_string(): {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    return {
        "analysed": analysed,
        "enrichment_s": round(enriched, 1),
        "nightly_s": round(time.perf_counter() - started - enriched, 1),
        "findings_kept": metadata.get("nightly_findings", {}).get("kept", 0),
        "proposals": metadata.get("proposed_intents", {}).get("proposals", 0),
        "withheld": metadata.get("feedback_scores", {}).get("withheld", 0),
        "needs_review": metadata.get("feedback_scores", {}).get("needs_review", 0),
    }


class Analyst:
    """Decides a few of the day's proposals and pending lessons a day, and remembers what it decided."""

    def __init__(self, backlog: dict, data_uri: str, resources: dict, instance: dg.DagsterInstance) -> None:
        self.backlog = backlog
        self.data_uri = data_uri
        self.resources = resources
        self.instance = instance
        self.accepted: dict[str, str] = {}  # backlog intent -> proposal id
        self.decided_lessons: set[str] = set()

    def day(self, date_key: str) -> dict:
        budget = self.backlog["decisions_per_day"]
        accepted: list[str] = []
        errors: list[str] = []
        proposals: dict[str, dict] = {}
        approved = rejected = 0
        questions = defaultdict(list)
        for row in table_rows(self.data_uri, PROPOSALS_TABLE):
            if row["day"] == date_key:
                questions[row["proposal"]].append(row["question"].casefold())
        for proposal_id, asked in sorted(questions.items()):
            if budget <= 0:
                break
            item = self.backlog_item(asked)
            proposals[proposal_id] = {
                "questions": len(asked),
                "example": asked[0],
                "backlog": item["decision"]["intent"] if item else None,
            }
            if item is None:
                continue
            budget -= 1
            config = {**item["decision"], "proposal_id": proposal_id, "decision": "accept"}
            run_config = {
                "ops": {"accepted_intents": {"config": config}, "common_response_cache": {"config": TEAM_ONLY}}
            }
            result = self.review(response_cache.defs, "review_intent_proposal", run_config)
            if result.success:
                self.accepted[item["decision"]["intent"]] = proposal_id
                accepted.append(item["decision"]["intent"])
            else:
                errors += step_errors(result)
        approve, reject = self.judge_lessons(budget)
        if approve or reject:
            run_config = {"ops": {"learned_insights": {"config": {"approve": approve, "reject": reject}}}}
            result = self.review(nightly.defs, "review_learned_insights", run_config)
            if result.success:
                approved, rejected = len(approve), len(reject)
            else:
                errors += step_errors(result)
        for error in errors:
            log.warning("analyst launch failed: %s", error)
        return {
            "intents_accepted": accepted,
            "lessons_approved": approved,
            "lessons_rejected": rejected,
            "errors": errors,
            "proposals": proposals,
        }

    def backlog_item(self, asked: list[str]) -> dict | None:
        """The first reviewed answer not yet accepted that at least half of a proposal's questions ask for."""
        return next(
            (
                item
                for item in self.backlog["intents"]
                if item["decision"]["intent"] not in self.accepted
                and sum(any(w in q for w in item["recognise"]) for q in asked) * 2 >= len(asked)
            ),
            None,
        )

    def judge_lessons(self, budget: int) -> tuple[list[str], list[str]]:
        """The pending lessons the budget leaves room for, most users first: (approved, rejected) by the backlog's
        reject words."""
        lessons = [
            row
            for row in table_rows(self.data_uri, LEARNED_TABLE)
            if row["status"] not in (APPROVED, REJECTED) and row["id"] not in self.decided_lessons
        ]
        lessons.sort(key=lambda row: (-row["users"], row["id"]))
        approve: list[str] = []
        reject: list[str] = []
        for row in lessons[: max(0, budget)]:
            text = f"{row.get('insight', '')} {row.get('guidance', '')}".casefold()
            (reject if any(word in text for word in self.backlog["reject_words"]) else approve).append(row["id"])
            self.decided_lessons.add(row["id"])
        return approve, reject

    def review(self, defs, job: str, run_config: dict) -> dg.ExecuteInProcessResult:
        # A refused decision is the analyst's to log, not the week's end.
        return launch(defs, job, self.resources, self.instance, run_config=run_config, raise_on_error=False)
