"""Durability and freshness: acknowledged turns survive a kill -9; newly published stores are served without a restart."""

import asyncio
import signal
import time

import httpx
import pytest
from litestar.testing import AsyncTestClient

from jiwa.conversations import sqlite_url
from jiwa.conversations.reader import EventReader
from jiwa.llm import LlamaSettings
from serving.app import create_app
from tests.support.server import (
    auth,
    chat_until_stopped,
    free_port,
    publish_insights,
    server_settings,
    start_server_process,
)


async def test_acknowledged_turns_survive_kill_9(claude, data_uri):
    port = free_port()
    server = start_server_process(data_uri, claude.url, port)
    acknowledged: list[dict] = []

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        tasks = [
            asyncio.create_task(chat_until_stopped(client, i, 50, acknowledged, one_conversation=True))
            for i in range(8)
        ]
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40:
            assert time.monotonic() < deadline, f"only {len(acknowledged)} turns acknowledged in 60 s"
            await asyncio.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait()
        await asyncio.gather(*tasks)

    server = start_server_process(data_uri, claude.url, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for answer in acknowledged:
                view = (await client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())).json()
                assert "turns" in view, view
                contents = {(t["role"], t["content"]) for t in view["turns"]}
                ids = {t["message_id"] for t in view["turns"]}
                assert ("user", answer["message"]) in contents
                assert answer["message_id"] in ids
    finally:
        server.terminate()
        server.wait(timeout=10)
    # The pipeline reads every acknowledged turn from the store.
    stored = EventReader(sqlite_url(data_uri)).query("SELECT message_id FROM events WHERE role = 'assistant'")
    assert {a["message_id"] for a in acknowledged} <= set(stored.column("message_id").to_pylist())


async def test_newly_published_insights_are_served_without_restart(claude, data_uri, resources):
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        before = (await client.post("/v1/chat", json={"user_id": "gita", "message": "aku malu"}, headers=auth())).json()
        assert before["insight_ids"] == []
        await asyncio.to_thread(publish_insights, resources)
        deadline = time.monotonic() + 10
        while True:
            after = (
                await client.post("/v1/chat", json={"user_id": "gita", "message": "aku malu"}, headers=auth())
            ).json()
            if after["insight_ids"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert after["insight_ids"], "the published table was not picked up within 10 s"
        ready = (await client.get("/ready")).json()
        assert ready["stores"]["cultural_insights"]["loaded"] is True
        assert ready["stores"]["cultural_insights"]["rows"] > 0


@pytest.mark.model
async def test_without_an_api_key_llama_answers_locally(data_uri, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = server_settings(
        data_uri, local_responder=True, local_max_tokens=80, llm=LlamaSettings(context_size=2048)
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/ready")).json()["responder"] == "local"
        response = await client.post(
            "/v1/chat", json={"user_id": "hana", "message": "What is a KITAS?", "language": "en"}, headers=auth()
        )
    body = response.json()
    assert response.status_code == 200
    assert body["source"] in ("local", "fallback")
    assert body["reply"].strip()
