"""Every other endpoint and the error paths: auth, tenancy, validation, limits, 404s, feedback, memory, forgetting."""

import pytest
from litestar.testing import AsyncTestClient

from serving.app import create_app
from tests.support.server import auth, server_settings


@pytest.fixture()
async def client(claude, data_uri):
    async with AsyncTestClient(
        app=create_app(server_settings(data_uri, claude.url, rate_limit_per_minute=30))
    ) as client:
        yield client


async def _chat(client, user="ana", message="Apa itu KITAS?", tenant="acme", **extra):
    response = await client.post("/v1/chat", json={"user_id": user, "message": message, **extra}, headers=auth(tenant))
    assert response.status_code == 200, response.text
    return response.json()


async def test_missing_and_wrong_keys_are_401_with_json(client):
    missing = await client.post("/v1/chat", json={"user_id": "a", "message": "hi"})
    wrong = await client.post("/v1/chat", json={"user_id": "a", "message": "hi"}, headers={"X-API-Key": "nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized" and "Authorization" in missing.json()["error"]["message"]


async def test_a_tenant_cannot_touch_or_even_see_another_tenants_user_or_conversation(client):
    answer = await _chat(client, user="bima")
    other = auth("globex")
    never_seen = [
        await client.get("/v1/users/nobody/memory", headers=other),
        await client.get("/v1/conversations/conv_nobody", headers=other),
        await client.post("/v1/messages/msg_nobody/feedback", json={"user_id": "bima", "rating": "up"}, headers=other),
    ]
    someone_elses = [
        await client.get("/v1/users/bima/memory", headers=other),
        await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=other),
        await client.post(
            f"/v1/messages/{answer['message_id']}/feedback", json={"user_id": "bima", "rating": "up"}, headers=other
        ),
    ]
    # The same answers, word for word but for the id, as for ids that exist nowhere: nothing tells them apart.
    for unknown, theirs in zip(never_seen, someone_elses, strict=True):
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"]
    # "bima" at globex is another person, who starts with no conversation and no memory of acme's bima.
    own = await _chat(client, user="bima", tenant="globex")
    assert own["conversation_id"] != answer["conversation_id"]
    elsewhere = await client.post(
        "/v1/chat",
        json={"user_id": "bima", "message": "hi", "conversation_id": answer["conversation_id"]},
        headers=other,
    )
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["param"] == "conversation_id"
    # Forgetting globex's bima leaves acme's bima as they were.
    assert (await client.delete("/v1/users/bima", headers=other)).status_code == 200
    view = await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())
    assert view.status_code == 200 and len(view.json()["turns"]) == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"message": "hi"}, "user_id"),
        ({"user_id": "a"}, "message"),
        ({"user_id": "a", "message": ""}, "message"),
        ({"user_id": "a b", "message": "hi"}, "user_id"),
        ({"user_id": "a", "message": "hi", "language": "italiano"}, "language"),
        ({"user_id": "a", "message": "hi", "stream": "yes"}, "stream"),
        ({"user_id": "a", "message": "hi", "extra": 1}, None),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(client, body, field):
    response = await client.post("/v1/chat", json=body, headers=auth())
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error"]["code"] == "invalid_request"
    if field:
        assert field in payload["error"]["message"]


async def test_malformed_json_is_400(client):
    response = await client.post(
        "/v1/chat", content=b"{not json", headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


async def test_over_long_message_is_413_and_stores_nothing(client):
    response = await client.post("/v1/chat", json={"user_id": "long", "message": "x" * 4001}, headers=auth())
    assert response.status_code == 413 and response.json()["error"]["param"] == "message"
    assert (await client.get("/v1/users/long/memory", headers=auth())).status_code == 404


async def test_huge_body_is_413(client):
    response = await client.post("/v1/chat", json={"user_id": "a", "message": "x" * 200_000}, headers=auth())
    assert response.status_code == 413


async def test_unknown_conversation_is_404(client):
    response = await client.post(
        "/v1/chat", json={"user_id": "a", "message": "hi", "conversation_id": "conv_nope"}, headers=auth()
    )
    assert response.status_code == 404 and response.json()["error"]["param"] == "conversation_id"
    assert (await client.get("/v1/conversations/conv_nope", headers=auth())).status_code == 404
    assert (await client.post("/v1/conversations/conv_nope/end", headers=auth())).status_code == 404


async def test_rate_limit_answers_429_with_retry_after(client):
    statuses = [(await client.get("/v1/users/nobody/memory", headers=auth("globex"))).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30
    limited = await client.get("/v1/users/nobody/memory", headers=auth("globex"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (await client.get("/v1/users/nobody/memory", headers=auth("acme"))).status_code == 404


async def test_end_conversation_then_continue_reopens_it(client):
    answer = await _chat(client, user="citra")
    ended = (await client.post(f"/v1/conversations/{answer['conversation_id']}/end", headers=auth())).json()
    assert ended["ended"] is True
    await _chat(client, user="citra", message="Satu lagi", conversation_id=answer["conversation_id"])
    view = (await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())).json()
    assert view["ended"] is False and len(view["turns"]) == 4


async def test_feedback_is_stored_for_assistant_replies_only(client):
    answer = await _chat(client, user="dewi")
    ack = await client.post(
        f"/v1/messages/{answer['message_id']}/feedback",
        json={"user_id": "dewi", "rating": "down", "comment": "too vague"},
        headers=auth(),
    )
    assert ack.status_code == 201 and ack.json() == {"message_id": answer["message_id"], "rating": "down"}
    view = (await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())).json()
    user_turn = view["turns"][0]["message_id"]
    own = await client.post(
        f"/v1/messages/{user_turn}/feedback", json={"user_id": "dewi", "rating": "up"}, headers=auth()
    )
    assert own.status_code == 400
    bad = await client.post(
        f"/v1/messages/{answer['message_id']}/feedback", json={"user_id": "dewi", "rating": "meh"}, headers=auth()
    )
    assert bad.status_code == 400 and "rating" in bad.json()["error"]["message"]
    assert (
        await client.post("/v1/messages/msg_nope/feedback", json={"user_id": "dewi", "rating": "up"}, headers=auth())
    ).status_code == 404
    # Only the user who received a reply rates it: another user of the same tenant cannot.
    someone = await client.post(
        f"/v1/messages/{answer['message_id']}/feedback", json={"user_id": "eka", "rating": "down"}, headers=auth()
    )
    assert someone.status_code == 403 and "only the user who received it" in someone.json()["error"]["message"]
    anonymous = await client.post(
        f"/v1/messages/{answer['message_id']}/feedback", json={"rating": "up"}, headers=auth()
    )
    assert anonymous.status_code == 400 and "user_id" in anonymous.json()["error"]["message"]


async def test_memory_shows_the_grounding_block(client):
    await _chat(client, user="eka")
    memory = (await client.get("/v1/users/eka/memory", headers=auth())).json()
    assert memory["known"] is False and memory["profile"] is None
    assert "<user_memory>" in memory["grounding_text"] and "none yet" in memory["grounding_text"]


async def test_forgetting_a_user_removes_their_turns(client):
    answer = await _chat(client, user="fajar")
    forgotten = await client.delete("/v1/users/fajar", headers=auth())
    assert forgotten.status_code == 200 and forgotten.json()["events_removed"] == 2
    assert (await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())).status_code == 404
    assert (await client.get("/v1/users/fajar/memory", headers=auth())).status_code == 404


async def test_health_ready_and_openapi(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    # Nothing published in this data folder: the server answers, but says what is missing and is not ready.
    assert ready.status_code == 503 and ready.json()["ready"] is False and ready.json()["responder"] == "claude"
    insights = ready.json()["stores"]["cultural_insights"]
    assert insights["loaded"] is False and insights["missing"] is True and "pipelines.bootstrap" in insights["error"]
    assert 'jiwa_store_loaded{store="cultural_insights"} 0.0' in (await client.get("/metrics")).text
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "createChatReply",
        "createChatCompletion",
        "getConversation",
        "endConversation",
        "rateMessage",
        "getUserMemory",
        "forgetUser",
        "health",
        "ready",
        "metrics",
    } <= operations


async def test_unknown_route_is_json_404(client):
    response = await client.get("/v2/nothing", headers=auth())
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_the_schema_says_what_the_server_refuses(client):
    components = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for closed in ("ChatRequest", "Feedback"):  # unknown fields are refused, and the schema says so
        assert components[closed]["additionalProperties"] is False
        refused = await client.post("/v1/chat", json={"user_id": "a", "message": "hi", "extra": 1}, headers=auth())
        assert refused.status_code == 400
    contains = components["CompletionRequest"]["properties"]["messages"]["contains"]
    assert contains["properties"]["role"] == {"const": "user"}
    only_tool = await client.post(
        "/v1/chat/completions", json={"messages": [{"role": "tool", "content": "42"}]}, headers=auth()
    )
    assert only_tool.status_code == 400 and "must contain a non-empty user message" in only_tool.text
    # What the schema allows is answered: the last user message, whatever follows it.
    after_user = await client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Apa itu NIB?"}, {"role": "tool", "content": "42"}]},
        headers=auth(),
    )
    assert after_user.status_code == 200, after_user.text
