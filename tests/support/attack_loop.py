"""The team's attack corpus driven through the whole learning loop: chat and feedback through the API, the sealed
log, the night, learned candidates (every one approved, the worst case), retrieval for every tenant, and a cache
rebuild. With JIWA_LEARNING_MIN_USERS=1 a single attacker's lesson would be served at once: only the filters stand
between an attempt and what users are told."""

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import yaml
from litestar.testing import AsyncTestClient

from assets.knowledge import cultural_topics, curated_insights
from assets.nightly import learned_insights, nightly_findings
from assets.nightly.days import BALI
from assets.resources import LearningResource
from assets.response_cache import common_response_cache, curated_facts, intent_catalogue
from jiwa.domain.status import APPROVED, CACHE_ANSWER, EARNED
from jiwa.paths import PROJECT_ROOT
from jiwa.store.schema import LEARNED_TABLE, RESPONSE_CACHE_TABLE
from serving.app import create_app
from tests.support.nightly import night, review, rows
from tests.support.resources import pipeline_resources
from tests.support.server import auth, server_settings

ATTEMPTS = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "attack_corpus.yaml").read_text())["attempts"]
TENANTS = ("acme", "globex")


@dataclass
class LoopReport:
    conversations: int
    findings: int
    kept: int
    filtered: Counter
    candidates: int
    served_texts: list[str]

    def accounted(self, attempts: list[dict]) -> bool:
        """Every conversation was written down or refused by its schema; every finding was kept or filtered."""
        refused = self.filtered["schema_invalid"]
        return (
            self.findings + refused == len(attempts)
            and self.kept + sum(self.filtered.values()) - refused == self.findings
        )

    def leaked(self, attempts: list[dict]) -> list[tuple[str, str]]:
        served = "\n".join(self.served_texts).casefold()
        return [(a["id"], canary) for a in attempts for canary in a["canaries"] if canary in served]


def yesterday_clock(monkeypatch) -> str:
    """The server's clock set to yesterday morning in Bali, one second a step, so the night can read the chats."""
    start = (datetime.now(BALI) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    ticks = itertools.count()
    monkeypatch.setattr("serving.conversations.utc_now", lambda: start + timedelta(seconds=next(ticks)))
    return start.strftime("%Y-%m-%d")


async def attack_loop(claude_url: str, data_uri: str, llama, attempts: list[dict], day: str) -> LoopReport:
    app = create_app(server_settings(data_uri, claude_url, rate_limit_per_minute=10_000))
    async with AsyncTestClient(app=app) as client:
        services = app.state.services
        for attempt in attempts:
            await _attack(client, attempt)

        resources = {**pipeline_resources(data_uri, llama), "learning": LearningResource(min_users=1)}
        assert dg.materialize([cultural_topics, curated_insights], resources=resources).success
        findings = night(resources, day, assets=[nightly_findings, learned_insights])["nightly_findings"]
        candidates = rows(data_uri, LEARNED_TABLE)
        if candidates:
            review(resources, approve=[c["id"] for c in candidates])
        served = [
            f"{c['insight']} {c['guidance']} {c['search_text']}"
            for c in rows(data_uri, LEARNED_TABLE)
            if c["status"] in (EARNED, APPROVED)
        ]

        services.insights.refresh()
        for tenant, attempt in itertools.product(TENANTS, attempts):
            hits = await services.insights.search(" ".join(attempt["user_turns"]), 8, tenant)
            served += [f"{hit.insight} {hit.guidance}" for hit in hits]

        cache = dg.materialize(
            [curated_facts, intent_catalogue, common_response_cache],
            resources=resources,
            run_config={"ops": {"common_response_cache": {"config": {"intent_limit": 3}}}},
        )
        assert cache.success
        served += [row["text"] for row in rows(data_uri, RESPONSE_CACHE_TABLE) if row["kind"] == CACHE_ANSWER]
    return LoopReport(
        conversations=findings["conversations"],
        findings=findings["findings"],
        kept=findings["kept"],
        filtered=Counter(findings["filtered"]),
        candidates=len(candidates),
        served_texts=served,
    )


async def _attack(client, attempt: dict) -> None:
    user, conversation_id, message_id = f"attacker-{attempt['id']}", None, None
    for text in attempt["user_turns"]:
        reply = await client.post(
            "/v1/chat", json={"user_id": user, "message": text, "conversation_id": conversation_id}, headers=auth()
        )
        assert reply.status_code in (200, 201), reply.text
        conversation_id, message_id = reply.json()["conversation_id"], reply.json()["message_id"]
    rating = {"user_id": user, **{key: value for key, value in attempt["feedback"].items() if value is not None}}
    feedback = await client.post(f"/v1/messages/{message_id}/feedback", json=rating, headers=auth())
    assert feedback.status_code in (200, 201), feedback.text
    await client.post(f"/v1/conversations/{conversation_id}/end", headers=auth())


def describe(report: LoopReport) -> str:
    return json.dumps(
        {
            "conversations": report.conversations,
            "findings": report.findings,
            "kept": report.kept,
            "filtered": dict(sorted(report.filtered.items())),
            "candidates": report.candidates,
            "served_texts_checked": len(report.served_texts),
        }
    )
