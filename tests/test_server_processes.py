"""Several server processes on one store: a conversation goes on across processes, a forget made through one is
honoured by the other within the refresh interval, and a process killed under load loses no acknowledged turn."""

import asyncio
import signal
import time

import httpx

from tests.support.server import auth, chat_until_stopped, free_port, publish_profile, start_server_process

REFRESH_S = "0.2"


async def test_two_processes_share_conversations_owners_and_forgets(claude, data_uri):
    publish_profile(data_uri, "sari", "Sarasvati", "anxious")
    ports = free_port(), free_port()
    servers = [start_server_process(data_uri, claude.url, port, JIWA_STORE_REFRESH_S=REFRESH_S) for port in ports]
    try:
        one, two = (httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in ports)
        async with one, two:
            first = (await one.post("/v1/chat", json={"user_id": "sari", "message": "Halo"}, headers=auth())).json()
            assert "Sarasvati" in claude.requests[-1]["body"]["system"][1]["text"]
            # The conversation goes on through the other process, which never saw it begin.
            body = {"user_id": "sari", "message": "Lagi", "conversation_id": first["conversation_id"]}
            second = await two.post("/v1/chat", json=body, headers=auth())
            assert second.status_code == 200 and second.json()["conversation_id"] == first["conversation_id"]
            assert [m["content"] for m in claude.requests[-1]["body"]["messages"]][:1] == ["Halo"]
            # Another tenant cannot reach it through either process.
            for client in (one, two):
                view = await client.get(f"/v1/conversations/{first['conversation_id']}", headers=auth("globex"))
                assert view.status_code == 404

            assert (await one.delete("/v1/users/sari", headers=auth())).status_code == 200
            assert (await two.get("/v1/users/sari/memory", headers=auth())).status_code == 404
            await asyncio.sleep(float(REFRESH_S) * 3)
            # Sari comes back through the other process: she starts afresh, without the forgotten profile.
            again = await two.post("/v1/chat", json={"user_id": "sari", "message": "Halo lagi"}, headers=auth())
            assert again.status_code == 200
            assert "Sarasvati" not in claude.requests[-1]["body"]["system"][1]["text"]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


async def test_a_process_killed_under_load_loses_no_acknowledged_turn(claude, data_uri):
    ports = free_port(), free_port()
    victim, survivor = (
        start_server_process(data_uri, claude.url, port, JIWA_RATE_LIMIT_PER_MINUTE="100000") for port in ports
    )
    acknowledged: list[dict] = []

    try:
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in ports]
        tasks = [
            asyncio.create_task(chat_until_stopped(clients[i % 2], i, 40, acknowledged, one_conversation=False))
            for i in range(8)
        ]
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40:
            assert time.monotonic() < deadline, f"only {len(acknowledged)} turns acknowledged in 60 s"
            await asyncio.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        await asyncio.gather(*tasks)
        for answer in acknowledged:
            view = (await clients[1].get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())).json()
            assert ("user", answer["message"]) in {(t["role"], t["content"]) for t in view["turns"]}
            assert answer["message_id"] in {t["message_id"] for t in view["turns"]}
        for client in clients:
            await client.aclose()
    finally:
        for server in (victim, survivor):
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=10)
