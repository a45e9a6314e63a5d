"""Malformed input costs nothing: every body the decoder or the schema refuses is a 4xx that says what is wrong,
and a message with nothing to answer is refused before anything is stored."""

import json
import socket
import time

import pytest
from litestar.testing import AsyncTestClient

from serving.app import create_app
from serving.controllers.completions import ANONYMOUS_PREFIX, CONVERSATION_HEADER
from tests.support.server import KEYS, LiveServer, auth, server_settings

CHAT, COMPLETIONS = "/v1/chat", "/v1/chat/completions"


def _completion(content) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": content}]}).encode()


@pytest.fixture()
async def client(claude, data_uri):
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        yield client


@pytest.mark.parametrize(
    "path, body, says",
    [
        (CHAT, b'{"user_id": "ana", "message": "\xff\xfe ciao"}', "not valid UTF-8"),
        (COMPLETIONS, b'{"messages": [{"role": "user", "content": "\xff ciao"}]}', "not valid UTF-8"),
        (CHAT, b"[" * 1000 + b"]" * 1000, "nests JSON too deeply"),
        (CHAT, b'{"user_id": "ana", "message": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nests JSON too deeply"),
        (COMPLETIONS, _completion([{"type": "text", "text": 5}]), "text"),
        (COMPLETIONS, _completion([{"type": "text", "text": None}]), "needs a 'text' string"),
        (COMPLETIONS, _completion([{"type": "text", "text": {"a": 1}}]), "text"),
        (COMPLETIONS, _completion([{"type": "text", "text": ["a"]}]), "text"),
        (COMPLETIONS, _completion([{"text": "no type"}]), "type"),
        (CHAT, json.dumps({"user_id": "ana", "message": "  \n\t "}).encode(), "only whitespace"),
        (CHAT, json.dumps({"user_id": "ana", "message": "ciao \u0000"}).encode(), "message"),
        (COMPLETIONS, _completion("ciao \u0000"), "content"),
        (COMPLETIONS, _completion([{"type": "text", "text": "a\u0000"}]), "text"),
        (COMPLETIONS, _completion(" \n "), "non-empty user message"),
        (CHAT, json.dumps({"user_id": "ana", "message": "\u200b\u200b"}).encode(), "invisible characters"),
        (CHAT, json.dumps({"user_id": "ana", "message": "\ufeff \u200d\u2060"}).encode(), "invisible characters"),
        (COMPLETIONS, _completion("\u200b\u200c"), "non-empty user message"),
    ],
)
async def test_malformed_bodies_are_a_4xx_that_says_what_is_wrong(client, claude, path, body, says):
    response = await client.post(path, content=body, headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]["message"]
    assert claude.requests == []


async def test_a_whitespace_message_is_not_stored_so_the_conversation_goes_on(client, claude):
    first = await client.post(CHAT, json={"user_id": "ana", "message": "Ciao!"}, headers=auth())
    conversation_id = first.json()["conversation_id"]
    blank = await client.post(
        CHAT, json={"user_id": "ana", "message": "   ", "conversation_id": conversation_id}, headers=auth()
    )
    assert blank.status_code == 400
    again = await client.post(
        CHAT, json={"user_id": "ana", "message": "Cos'è il KITAS?", "conversation_id": conversation_id}, headers=auth()
    )
    assert again.status_code == 200
    sent = claude.requests[-1]["body"]["messages"]
    assert all(m["content"].strip() for m in sent)
    turns = (await client.get(f"/v1/conversations/{conversation_id}", headers=auth())).json()["turns"]
    assert [t["content"] for t in turns if t["role"] == "user"] == ["Ciao!", "Cos'è il KITAS?"]


async def test_without_user_the_openai_endpoint_answers_without_shared_memory(client):
    body = {"messages": [{"role": "user", "content": "Halo"}]}
    first = await client.post(COMPLETIONS, json=body, headers=auth())
    second = await client.post(COMPLETIONS, json=body, headers=auth())
    assert first.status_code == second.status_code == 200
    ids = [r.headers[CONVERSATION_HEADER] for r in (first, second)]
    owners = [(await client.get(f"/v1/conversations/{i}", headers=auth())).json()["user_id"] for i in ids]
    assert owners[0] != owners[1] and all(o.startswith(ANONYMOUS_PREFIX) for o in owners)
    assert "acme" not in owners
    # Going on in a conversation without `user` keeps its own anonymous id.
    more = {**body, "metadata": {"conversation_id": ids[0]}}
    assert (await client.post(COMPLETIONS, json=more, headers=auth())).headers[CONVERSATION_HEADER] == ids[0]


async def test_ids_no_store_can_hold_are_simply_unknown(client):
    for path in ("/v1/conversations/conv%00x", "/v1/users/ana%00/memory"):
        response = await client.get(path, headers=auth())
        assert response.status_code == 404, (path, response.text)
    feedback = await client.post(
        "/v1/messages/msg%00x/feedback", json={"user_id": "ana", "rating": "up"}, headers=auth()
    )
    assert feedback.status_code == 404
    comment = await client.post(
        "/v1/messages/msg_x/feedback", json={"user_id": "ana", "rating": "up", "comment": "a\u0000"}, headers=auth()
    )
    assert comment.status_code == 400


async def test_an_error_never_echoes_more_than_a_bounded_part_of_an_id(client):
    long_id = "c" * 60_000
    for path in (f"/v1/conversations/{long_id}", f"/v1/users/{long_id}/memory"):
        response = await client.get(path, headers=auth())
        assert response.status_code == 404
        message = response.json()["error"]["message"]
        assert len(message) < 300 and "(60000 characters)" in message
    short = await client.get("/v1/conversations/conv_nope", headers=auth())
    assert "'conv_nope'" in short.json()["error"]["message"]


def _raw_request(port: int, declared: int, sent: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEYS['acme']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    connection.sendall(head.encode() + sent)
    return connection


def test_a_body_shorter_than_its_length_gets_a_408_and_a_client_that_leaves_is_no_error(claude, data_uri, caplog):
    settings = server_settings(data_uri, claude.url, body_read_timeout_s=0.5)
    with LiveServer(create_app(settings)) as server, caplog.at_level("INFO"):
        started = time.monotonic()
        stalled = _raw_request(server.port, 100, b'{"user_id":')
        answer = stalled.recv(4096).decode()
        stalled.close()
        assert answer.startswith("HTTP/1.1 408") and "did not arrive within 0.5 s" in answer
        assert time.monotonic() - started < 5

        leaving = _raw_request(server.port, 100, b'{"user_id":')
        leaving.close()
        time.sleep(0.3)
    assert "unhandled error" not in caplog.text and "client disconnected prematurely" not in caplog.text
    assert claude.requests == []
