"""Users are (tenant, user_id): the same id under two tenants is two people, neither can tell the other exists, and
forgetting one of them, under load, touches nobody else and stalls nobody's chat."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from jiwa.conversations import sqlite_url
from jiwa.conversations.repository import ConversationRepository
from serving.app import create_app
from tests.support.log import conversation
from tests.support.server import LiveServer, auth, publish_profile, server_settings


@pytest.fixture()
async def client(claude, data_uri):
    """Real HTTP on a loopback port: concurrent requests really are concurrent (the in-process test client runs
    one at a time)."""
    publish_profile(data_uri, "dewi", "Dewinta", "anxious", tenant="acme")
    publish_profile(data_uri, "dewi", "Gloria", "curious", tenant="globex")
    settings = server_settings(data_uri, claude.url, rate_limit_per_minute=10_000)
    with LiveServer(create_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            yield client


async def _chat(client, tenant: str, user: str, message: str = "Halo") -> dict:
    response = await client.post("/v1/chat", json={"user_id": user, "message": message}, headers=auth(tenant))
    assert response.status_code == 200, response.text
    return response.json()


def _grounding(claude) -> str:
    return claude.requests[-1]["body"]["system"][1]["text"]


async def test_the_same_id_at_two_tenants_is_two_people_and_forgetting_one_leaves_the_other(client, claude):
    await _chat(client, "acme", "dewi")
    assert "Dewinta" in _grounding(claude) and "Gloria" not in _grounding(claude)
    await _chat(client, "globex", "dewi")
    assert "Gloria" in _grounding(claude) and "Dewinta" not in _grounding(claude)
    acme = (await client.get("/v1/users/dewi/memory", headers=auth("acme"))).json()
    globex = (await client.get("/v1/users/dewi/memory", headers=auth("globex"))).json()
    assert acme["profile"]["facts"]["name"]["value"] == "Dewinta"
    assert globex["profile"]["facts"]["name"]["value"] == "Gloria"

    assert (await client.delete("/v1/users/dewi", headers=auth("globex"))).status_code == 200
    assert (await client.get("/v1/users/dewi/memory", headers=auth("globex"))).status_code == 404
    still = (await client.get("/v1/users/dewi/memory", headers=auth("acme"))).json()
    assert still["profile"]["facts"]["name"]["value"] == "Dewinta"
    await _chat(client, "acme", "dewi")
    assert "Dewinta" in _grounding(claude)


async def test_concurrent_first_writes_of_one_new_id_from_two_tenants_never_merge(client):
    for round_ in range(50):
        user = f"newcomer{round_}"
        acme, globex = await asyncio.gather(_chat(client, "acme", user), _chat(client, "globex", user))
        assert acme["conversation_id"] != globex["conversation_id"]
        for tenant, answer, other in (("acme", acme, globex), ("globex", globex, acme)):
            own = await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth(tenant))
            theirs = await client.get(f"/v1/conversations/{other['conversation_id']}", headers=auth(tenant))
            assert own.status_code == 200 and len(own.json()["turns"]) == 2
            assert theirs.status_code == 404
        if round_ % 10 == 0:
            assert (await client.delete(f"/v1/users/{user}", headers=auth("acme"))).status_code == 200
            kept = await client.get(f"/v1/conversations/{globex['conversation_id']}", headers=auth("globex"))
            assert kept.status_code == 200 and len(kept.json()["turns"]) == 2


async def test_chats_of_other_tenants_are_not_stalled_by_a_forget(client, data_uri):
    # A long-standing user with thousands of events to delete.
    repository = ConversationRepository.open(sqlite_url(data_uri))
    start = datetime.now(UTC) - timedelta(days=30)
    for index in range(300):
        repository.append(conversation(f"old{index}", "veteran", ["Halo"] * 5, start=start + timedelta(hours=index)))
    repository.close()

    async def timed_chat(index: int) -> float:
        answer = await _chat(client, "globex", f"guest{index}")
        return answer["timings_ms"]["total"]

    # The same 20 concurrent chats without a forget, on this machine, now: what the forget may not add to.
    baseline = await asyncio.gather(*(timed_chat(index) for index in range(20, 40)))
    forget = asyncio.create_task(client.delete("/v1/users/veteran", headers=auth("acme")))
    totals = await asyncio.gather(*(timed_chat(index) for index in range(20)))
    response = await forget
    assert response.status_code == 200 and response.json()["events_removed"] == 300 * 11
    print(f"server-side ms, slowest of 20 chats: {max(baseline):.0f} alone, {max(totals):.0f} during the forget")
    # Client, server and fake Claude share one process here, so the bound has room for this machine's noise; the
    # forget itself may cost the slowest chat no more than 50 ms (it cost 10 to 18 s with the file log).
    assert max(totals) < max(baseline) + 50 and max(totals) < 200, (baseline, totals)


async def test_a_forget_while_a_reply_is_in_flight_is_not_undone_by_that_reply(client, claude):
    claude.delay_s = 0.8
    chat = asyncio.create_task(_chat(client, "acme", "kadek", "SECRET-AFTER: second turn"))
    await asyncio.sleep(0.3)  # the question is stored, Claude is writing
    assert (await client.delete("/v1/users/kadek", headers=auth("acme"))).status_code == 200
    answered = await chat
    assert answered["source"] == "claude"
    # The reply came after the forget: it is not stored, and brings back neither the user nor the conversation.
    assert (await client.get("/v1/users/kadek/memory", headers=auth("acme"))).status_code == 404
    conversation_id = answered["conversation_id"]
    assert (await client.get(f"/v1/conversations/{conversation_id}", headers=auth("acme"))).status_code == 404
