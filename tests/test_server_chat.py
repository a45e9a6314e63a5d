"""The chat endpoint end to end: persistence, grounding, Claude through the real SDK, degradation, streaming."""

import asyncio
import json

import pytest
from litestar.testing import AsyncTestClient

from serving.app import create_app
from tests.support.server import auth, publish_insights, server_settings, sse_events


@pytest.fixture()
async def client(claude, data_uri, resources):
    publish_insights(resources)
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        yield client


async def test_chat_answers_with_claude_grounded_in_insights(client, claude):
    response = await client.post(
        "/v1/chat",
        json={"user_id": "u1", "message": "aku malu bertanya tentang visa", "language": "id"},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "claude" and body["cache_intent"] is None
    assert body["insight_ids"] and body["insight_ids"][0].startswith("aku_malu-")
    assert f"grounded in {len(body['insight_ids'])} insights" in body["reply"]
    assert set(body["timings_ms"]) >= {
        "persist_user",
        "cache",
        "retrieval",
        "profile",
        "responder",
        "persist_assistant",
    }
    assert response.headers["X-Request-Id"]

    sent = claude.requests[-1]["body"]
    assert sent["model"] == "claude-haiku-4-5"
    # No primer is published here: the rules alone carry the breakpoint, too short to be cached.
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "<jiwa_data>" in sent["system"][1]["text"] and "aku malu" in sent["system"][1]["text"]
    assert sent["messages"] == [{"role": "user", "content": "aku malu bertanya tentang visa"}]


async def test_conversation_history_is_sent_and_readable(client, claude):
    first = (
        await client.post("/v1/chat", json={"user_id": "u2", "message": "Ciao, come stai?"}, headers=auth())
    ).json()
    second = await client.post(
        "/v1/chat",
        json={"user_id": "u2", "message": "Voglio aprire una PT PMA", "conversation_id": first["conversation_id"]},
        headers=auth(),
    )
    assert second.json()["conversation_id"] == first["conversation_id"]
    assert [m["role"] for m in claude.requests[-1]["body"]["messages"]] == ["user", "assistant", "user"]

    view = (await client.get(f"/v1/conversations/{first['conversation_id']}", headers=auth())).json()
    assert [t["role"] for t in view["turns"]] == ["user", "assistant", "user", "assistant"]
    assert view["turns"][1]["source"] == "claude" and view["ended"] is False


async def test_long_messages_are_routed_to_the_complex_model(client, claude):
    await client.post("/v1/chat", json={"user_id": "u3", "message": "Tell me everything. " * 40}, headers=auth())
    assert claude.requests[-1]["body"]["model"] == "claude-sonnet-4-5"


@pytest.mark.parametrize("mode", ["429", "529", "timeout", "malformed"])
async def test_claude_failures_degrade_to_an_honest_fallback(client, claude, mode):
    claude.mode = mode
    response = await client.post(
        "/v1/chat", json={"user_id": "u4", "message": "Berapa biaya KITAS?", "language": "id"}, headers=auth()
    )
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "fallback" and "Maaf" in body["reply"]
    view = (await client.get(f"/v1/conversations/{body['conversation_id']}", headers=auth())).json()
    assert [t["content"] for t in view["turns"]][0] == "Berapa biaya KITAS?"
    metrics = (await client.get("/metrics")).text
    assert "jiwa_responder_failures_total" in metrics and 'source="fallback"' in metrics


async def test_without_a_language_the_reply_follows_the_message(client, claude):
    claude.mode = "529"
    response = await client.post(
        "/v1/chat", json={"user_id": "u5", "message": "Ciao, quanto tempo ci vuole per il visto?"}, headers=auth()
    )
    assert response.json()["source"] == "fallback" and response.json()["reply"].startswith("Scusami")
    claude.mode = "ok"
    await client.post("/v1/chat", json={"user_id": "u5", "message": "Ciao, sono ancora io, grazie"}, headers=auth())
    assert "<reply_language>it</reply_language>" in claude.requests[-1]["body"]["system"][1]["text"]


async def test_streaming_sends_deltas_then_the_stored_answer(client, claude):
    async with client.stream(
        "POST", "/v1/chat", json={"user_id": "u5", "message": "What is a KITAS?", "stream": True}, headers=auth()
    ) as response:
        assert response.status_code == 200
        raw = "".join([chunk async for chunk in response.aiter_text()])
    events = sse_events(raw)
    deltas = [json.loads(data)["text"] for name, data in events if name == "delta"]
    done = json.loads(next(data for name, data in events if name == "done"))
    assert "".join(deltas).strip() == done["reply"] and done["source"] == "claude"
    assert claude.requests[-1]["body"]["stream"] is True


async def test_streaming_falls_back_when_claude_fails_before_the_first_token(client, claude):
    claude.mode = "529"
    async with client.stream(
        "POST", "/v1/chat", json={"user_id": "u6", "message": "hi", "stream": True}, headers=auth()
    ) as response:
        raw = "".join([chunk async for chunk in response.aiter_text()])
    assert '"source":"fallback"' in raw


async def test_metrics_count_sources_stages_and_claude_cost(client, claude):
    await client.post("/v1/chat", json={"user_id": "u7", "message": "Apa itu NPWP?"}, headers=auth())
    text = (await client.get("/metrics")).text
    assert 'jiwa_replies_total{endpoint="chat",source="claude"} 1.0' in text
    assert 'jiwa_stage_seconds_count{stage="retrieval"}' in text
    assert 'jiwa_claude_tokens_total{kind="input",model="claude-haiku-4-5"}' in text
    assert 'jiwa_claude_prefix_cache_total{model="claude-haiku-4-5",outcome="miss"} 1.0' in text
    assert "jiwa_claude_cost_usd_total" in text


async def test_a_reply_cut_off_by_a_disconnect_keeps_what_the_client_was_shown(client, claude):
    from serving.auth import Tenant
    from serving.domain import Question
    from serving.ownership import Ownership

    services = client.app.state.services
    owner = Ownership(services.conversations, Tenant("acme"))
    turn = await services.chat.stream(owner, Question("u6", "Apa itu KITAS?", None, "id"), endpoint="chat")
    stream = turn.items
    shown = await anext(stream)
    await stream.aclose()  # what the server does when the client goes away
    for _ in range(50):
        turns = turn.conversation.turns
        if len(turns) == 2:
            break
        await asyncio.sleep(0.02)
    assert [t.role for t in turns] == ["user", "assistant"]
    assert turns[1].content == shown.strip() and turns[1].source == "claude"
