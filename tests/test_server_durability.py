"""Durability and freshness: acknowledged turns survive a kill -9; newly published stores are served without a restart."""

import asyncio
import json
import signal
import subprocess
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
        assert ready["ready"] is True and ready["stores"]["cultural_insights"]["loaded"] is True
        assert ready["stores"]["cultural_insights"]["rows"] > 0

        # The table deleted under the running server: it stops serving it, and says so.
        import shutil
        from pathlib import Path

        shutil.rmtree(Path(data_uri) / "cultural_insights.lance")
        deadline = time.monotonic() + 10
        while (await client.get("/ready")).status_code != 503 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        gone = await client.get("/ready")
        assert gone.status_code == 503 and gone.json()["stores"]["cultural_insights"]["missing"] is True
        assert 'jiwa_store_loaded{store="cultural_insights"} 0.0' in (await client.get("/metrics")).text
        again = (await client.post("/v1/chat", json={"user_id": "gita", "message": "aku malu"}, headers=auth())).json()
        assert again["insight_ids"] == []


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


async def test_every_log_line_of_the_server_is_json_with_the_request_id(claude, data_uri, tmp_path):
    claude.mode = "529"  # the responder logs its failure, inside the request
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        server = start_server_process(data_uri, claude.url, port, log_file=log_file)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                headers = {**auth(), "X-Request-Id": "probe-4242"}
                reply = await client.post("/v1/chat", json={"user_id": "ana", "message": "Halo"}, headers=headers)
                assert reply.status_code == 200 and reply.headers["X-Request-Id"] == "probe-4242"
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "request_id", "message"} <= set(r) for r in records)
    failures = [r for r in records if "responder failed" in r["message"]]
    assert failures and all(r["request_id"] == "probe-4242" for r in failures)
    # The HTTP clients' line for each call to Claude is left out (serving.app.configure_logging).
    assert not [r for r in records if r["logger"].startswith("httpx")]


def _start_and_fail(data_uri: str, **env: str) -> subprocess.CompletedProcess:
    import os
    import sys

    environment = {**os.environ, "JIWA_DATA_URI": data_uri, "JIWA_PORT": str(free_port()), **env}
    return subprocess.run(
        [sys.executable, "-m", "serving"], env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("damage", ["emptied", "garbage"])
def test_a_damaged_conversation_store_is_refused_in_one_line_that_names_it(data_uri, damage):
    from pathlib import Path

    from jiwa.conversations.repository import ConversationRepository

    url = sqlite_url(data_uri)
    ConversationRepository.open(url).close()
    path = Path(url.removeprefix("sqlite:///"))
    path.write_bytes(b"" if damage == "emptied" else bytes(range(256)) * 32)
    result = _start_and_fail(data_uri)
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    message = json.loads(line)["message"]
    assert str(path) in message and "backup" in message
    if damage == "emptied":
        assert "JIWA_CONVERSATIONS_ALLOW_EMPTY=true" in message
        assert ConversationRepository.open(url, allow_empty=True).user_exists("acme", "nobody") is False


async def test_a_damaged_knowledge_table_is_named_and_the_server_still_answers(claude, data_uri, resources, caplog):
    from pathlib import Path

    from tests.support.server import publish_curated

    publish_curated(resources)
    for manifest in (Path(data_uri) / "cultural_insights.lance" / "_versions").iterdir():
        manifest.write_bytes(bytes(range(256)) * 4)
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503
        error = ready.json()["stores"]["cultural_insights"]["error"]
        assert error.startswith("cultural_insights cannot be read") and "publish it again" in error
        answered = await client.post("/v1/chat", json={"user_id": "ana", "message": "Halo"}, headers=auth())
        assert answered.status_code == 200
    named = [r for r in caplog.records if "cultural_insights cannot be read" in r.getMessage()]
    assert len(named) == 1 and "\n" not in named[0].getMessage()
