"""What Claude is sent when the cache does not answer: the curated facts the message names, and only the insights
close enough to it (through the real anthropic SDK against the local fake Messages API)."""

import json
import re

import pytest
from litestar.testing import AsyncTestClient

from jiwa.catalogue.intents import load_facts
from serving.app import create_app
from tests.support.server import auth, publish_curated, publish_team_cache, server_settings


@pytest.fixture()
async def client(claude, data_uri, resources):
    publish_curated(resources)
    publish_team_cache(resources)
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        yield client


def data_block(request: dict, tag: str) -> str:
    text = next(b["text"] for b in reversed(request["body"]["system"]) if b["text"].lstrip().startswith("<jiwa_data>"))
    return re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.S).group(1)


async def ask(client, message: str, language: str | None = None, user: str = "u1") -> dict:
    response = await client.post(
        "/v1/chat", json={"user_id": user, "message": message, "language": language}, headers=auth()
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("message", "language", "expected"),
    [
        ("how much does a KITAS for my wife cost?", "en", {"kitas_work_cost", "kitas_investor_cost"}),
        ("aku malu bertanya, tapi berapa lama proses KITAS untuk istri saya?", "id", {"kitas_processing_time"}),
    ],
)
async def test_a_near_miss_reaches_claude_with_the_curated_facts_it_names_and_their_date(
    client, claude, message, language, expected
):
    body = await ask(client, message, language)
    assert body["source"] == "claude"  # a family term: not the cached question
    facts = {fact["id"]: fact for fact in json.loads(data_block(claude.requests[-1], "curated_facts"))}
    assert expected <= facts.keys(), facts
    curated = load_facts().facts
    for fact_id in expected:
        assert facts[fact_id]["value"] == curated[fact_id].render(language)
        assert facts[fact_id]["last_checked"] == curated[fact_id].as_of.isoformat() == "2025-06-01"
        assert facts[fact_id]["source"] == curated[fact_id].source
    rules = claude.requests[-1]["body"]["system"][0]["text"]
    assert "only from <curated_facts>" in rules and "never give one from your own memory" in rules


# Loneliness with a detail the cache's loneliness answer does not cover (the neighbours), so that Claude answers it.
LONELY = "mi sento sola a Bali, non conosco nessuno e i vicini non mi salutano"


async def test_a_message_that_names_no_curated_term_carries_no_facts(client, claude):
    await ask(client, LONELY, "it")
    assert data_block(claude.requests[-1], "curated_facts") == "none"


async def test_only_insights_close_to_the_message_are_sent(client, claude):
    lonely = await ask(client, LONELY, "it")
    assert 1 <= len(lonely["insight_ids"]) < 4, lonely["insight_ids"]
    assert lonely["insight_ids"][0].startswith("loneliness-")
    sent = json.loads(data_block(claude.requests[-1], "cultural_insights"))
    assert [insight["id"] for insight in sent] == lonely["insight_ids"]


async def test_a_follow_up_carries_the_facts_of_what_was_asked_before_it(client, claude):
    opening = await ask(client, "cos'è il KITAS?", "it")
    assert opening["source"] == "cache"
    follow_up = await ask_in(client, "e quanto costa quello?", opening["conversation_id"])
    assert follow_up["source"] == "claude"
    facts = {fact["id"] for fact in json.loads(data_block(claude.requests[-1], "curated_facts"))}
    assert {"kitas_work_cost", "kitas_investor_cost"} <= facts, facts


async def ask_in(client, message: str, conversation_id: str) -> dict:
    response = await client.post(
        "/v1/chat",
        json={"user_id": "u1", "message": message, "language": "it", "conversation_id": conversation_id},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()
