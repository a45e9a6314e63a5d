"""Facts that expire: past its review date a fact stops the cached answers that cite it, reaches Claude marked with
the day it was last checked, and turns a warning check yellow; a refreshed fact brings the answers back."""

import asyncio
import json
from datetime import date, timedelta

import dagster as dg
import pytest
from litestar.testing import AsyncTestClient

from assets.response_cache import curated_facts
from assets.response_cache.fact_review import facts_reviewed_in_time
from jiwa.catalogue.intents import CuratedFacts, load_facts
from serving.app import create_app
from tests.support.server import auth, publish_curated, publish_team_cache, server_settings

FACTS = load_facts()
PAST_EVERY_REVIEW = max(fact.review_by for fact in FACTS.facts.values()) + timedelta(days=1)


def reviewed_again(facts: CuratedFacts, until: date) -> CuratedFacts:
    """The facts as the team leaves them after checking every value again."""
    return facts.model_copy(
        update={"facts": {k: f.model_copy(update={"review_by": until}) for k, f in facts.facts.items()}}
    )


@pytest.fixture()
async def client(claude, data_uri, resources):
    publish_curated(resources)
    publish_team_cache(resources)
    settings = server_settings(data_uri, claude.url, facts_review_date=PAST_EVERY_REVIEW)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def ask(client, message: str, language: str = "en") -> dict:
    response = await client.post(
        "/v1/chat", json={"user_id": "u1", "message": message, "language": language}, headers=auth()
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_expired_fact_stops_its_cached_answers_and_reaches_claude_marked_with_its_date(client, claude):
    answer = await ask(client, "how much does a KITAS cost?")
    assert answer["source"] == "claude"
    block = next(b["text"] for b in reversed(claude.requests[-1]["body"]["system"]) if "<curated_facts>" in b["text"])
    facts = {f["id"]: f for f in json.loads(block.split("<curated_facts>\n")[1].split("\n</curated_facts>")[0])}
    cost = facts["kitas_work_cost"]
    assert cost["review_overdue"] is True and cost["last_checked"] == FACTS.facts["kitas_work_cost"].as_of.isoformat()
    rules = claude.requests[-1]["body"]["system"][0]["text"]
    assert "review_overdue" in rules and "may have changed" in rules
    # An answer that cites no fact is still the team's pre-written one.
    assert (await ask(client, "thanks a lot, that helps"))["source"] == "cache"
    ready = (await client.get("/ready")).json()
    assert "kitas_work_cost" in ready["stores"]["common_response_cache"]["facts_past_review"]


async def test_a_refreshed_fact_brings_its_answers_back_after_the_rebuild(client, resources, monkeypatch):
    assert (await ask(client, "how much does a KITAS cost?"))["source"] == "claude"
    monkeypatch.setattr(
        "assets.response_cache.catalogues.load_facts",
        lambda: reviewed_again(FACTS, PAST_EVERY_REVIEW + timedelta(days=180)),
    )
    publish_team_cache(resources)
    for _ in range(50):
        await asyncio.sleep(0.1)
        answer = await ask(client, "how much does a KITAS cost?")
        if answer["source"] == "cache":
            break
    assert answer["source"] == "cache" and answer["cache_intent"] == "kitas_cost"


@pytest.mark.parametrize(("review_by", "passed"), [(date(2000, 1, 1), False), (date(2999, 1, 1), True)])
def test_the_review_check_warns_while_a_fact_is_past_its_date(monkeypatch, resources, review_by, passed):
    stale = FACTS.model_copy(
        update={
            "facts": {
                k: f.model_copy(update={"as_of": date(1999, 1, 1), "review_by": review_by})
                for k, f in FACTS.facts.items()
            }
        }
    )
    monkeypatch.setattr("assets.response_cache.catalogues.load_facts", lambda: stale)
    result = dg.materialize(
        [curated_facts, facts_reviewed_in_time], resources=resources, instance=dg.DagsterInstance.ephemeral()
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed is passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN  # yellow in the UI, never blocking the cache
    if not passed:
        assert evaluation.metadata["past_review"].value == len(FACTS.facts)


def test_the_facts_the_readme_says_are_within_review_until_june_2027_are():
    facts = load_facts().facts
    recent = {key for key, fact in facts.items() if fact.as_of.year == 2026 and fact.as_of.month == 12}
    assert recent == {"rabies_pre_exposure", "rabies_wound_wash", "traffic_fines_max", "bali_seasons"}
    assert all(facts[key].review_by.isoformat().startswith("2027-06") for key in recent)
    assert all(fact.review_by < date(2026, 12, 5) for key, fact in facts.items() if key not in recent)
