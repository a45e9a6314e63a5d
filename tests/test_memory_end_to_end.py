"""End to end: chat, end the conversation, sensor tick, analysis run, the profile through the API, a warm return,
then forgetting the user until compaction leaves nothing of them on disk."""

import json
from pathlib import Path

from litestar.testing import AsyncTestClient

from assets.maintenance import store_compaction
from assets.resources import StoresResource
from serving.app import create_app
from tests.support.sensor import sensor_then_run
from tests.support.server import auth, server_settings


def _files_mentioning(root: Path, text: str) -> list[str]:
    needle = text.encode()
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def test_profile_reaches_the_api_and_the_prompt_then_is_forgotten_everywhere(claude, data_uri):
    app = create_app(server_settings(data_uri, claude.url))
    async with AsyncTestClient(app=app) as client:
        services = app.state.services
        first = await client.post(
            "/v1/chat",
            json={
                "user_id": "giulia",
                "message": "Ciao! Mi chiamo Giulia e ho paura per il mio KITAS. Permisi, grazie",
            },
            headers=auth(),
        )
        conversation_id = first.json()["conversation_id"]
        assert (await client.post(f"/v1/conversations/{conversation_id}/end", headers=auth())).status_code == 200
        unknown = (await client.get("/v1/users/giulia/memory", headers=auth())).json()
        assert unknown["known"] is False

        assert sensor_then_run(data_uri) == [conversation_id]
        services.profiles.refresh()

        memory = (await client.get("/v1/users/giulia/memory", headers=auth())).json()
        assert memory["known"] is True
        assert memory["profile"]["facts"]["name"]["value"] == "Giulia"
        assert memory["profile"]["jiwa_context"]["emotional_state"]["value"] == "anxious"
        assert memory["profile"]["facts"]["name"]["sources"] == [conversation_id]
        block = json.loads(memory["grounding_text"].split("<user_memory>")[1].split("</user_memory>")[0])
        assert block["returning_user"] is True and block["name"]["value"] == "Giulia"
        # A guess from one conversation reads as one: each remembered value says how sure Jiwa is, and how old it is.
        assert block["emotional_state"] == {"value": "anxious", "confidence": 0.55, "seen": "today"}

        # A returning user: the responder gets the memory as data, inside the delimited block, not as instructions.
        again = await client.post("/v1/chat", json={"user_id": "giulia", "message": "Ciao di nuovo!"}, headers=auth())
        assert again.status_code == 200
        request = claude.requests[-1]["body"]
        rules, data = request["system"][0]["text"], request["system"][1]["text"]
        assert "returning_user" in rules and "Giulia" not in rules
        memory_block = data.split("<user_memory>")[1].split("</user_memory>")[0]
        assert json.loads(memory_block)["name"]["value"] == "Giulia" and '"anxieties"' in memory_block
        assert request["messages"][-1] == {"role": "user", "content": "Ciao di nuovo!"}

        # Another tenant's user with the same memory lookup sees nothing of Giulia.
        assert services.profiles.profile("globex", "giulia") is None

        forgotten = await client.delete("/v1/users/giulia", headers=auth())
        assert forgotten.status_code == 200, forgotten.text
        assert forgotten.json()["derived_rows_removed"] == 2 and "compaction" in forgotten.json()["note"]
        assert (await client.get("/v1/users/giulia/memory", headers=auth())).status_code == 404
        assert services.profiles.profile("acme", "giulia") is None

    stores = Path(data_uri)
    # Still inside older versions of the stores until compaction runs...
    assert _files_mentioning(stores / "jiwa_profiles.lance", "Giulia")
    result = store_compaction.execute_in_process(resources={"stores": StoresResource(data_uri=data_uri)})
    assert result.success
    # ...and then nowhere: neither her name nor what she wrote, in the tables or in the conversation log.
    assert _files_mentioning(stores, "Giulia") == []
    assert _files_mentioning(stores, "paura per il mio KITAS") == []
    # Only the bare user id stays: in the store's forget tombstone, and in the record of the delete itself (the
    # current version of each table), which goes with the next write and compaction.
    leftovers = _files_mentioning(stores, "giulia")
    assert all("conversations.sqlite3" in path or "_transactions" in path or "_versions" in path for path in leftovers)


async def test_a_profile_published_while_the_server_runs_is_served_without_restart(claude, data_uri):
    app = create_app(server_settings(data_uri, claude.url, store_refresh_s=0.1))
    async with AsyncTestClient(app=app) as client:
        services = app.state.services
        reply = await client.post(
            "/v1/chat",
            json={"user_id": "made", "message": "Halo, nama saya Made. Saya bingung soal NPWP"},
            headers=auth(),
        )
        await client.post(f"/v1/conversations/{reply.json()['conversation_id']}/end", headers=auth())
        sensor_then_run(data_uri)
        import asyncio

        for _ in range(50):
            if services.profiles.profile("acme", "made") is not None:
                break
            await asyncio.sleep(0.1)
        ready = (await client.get("/ready")).json()
        assert ready["stores"]["jiwa_profiles"]["loaded"] is True and ready["stores"]["jiwa_profiles"]["profiles"] == 1
        memory = (await client.get("/v1/users/made/memory", headers=auth())).json()
        assert memory["profile"]["facts"]["name"]["value"] == "Made"
        assert memory["profile"]["facts"]["language"]["value"] == "id"
        assert (
            json.loads(memory["grounding_text"].split("<user_memory>")[1].split("</user_memory>")[0])["language"][
                "value"
            ]
            == "id"
        )


def test_every_user_data_table_is_reached_by_forgetting():
    from jiwa.forgetting import EVIDENCE_TIME
    from jiwa.store.schema import (
        USER_DATA_TABLES,
        analyses_schema,
        findings_schema,
        profiles_schema,
        proposals_schema,
    )

    assert set(EVIDENCE_TIME) == set(USER_DATA_TABLES)
    schemas = {
        "conversation_analyses": analyses_schema(),
        "jiwa_profiles": profiles_schema(),
        "nightly_findings": findings_schema("any", 4),
        "intent_proposals": proposals_schema(),
    }
    for table, column in EVIDENCE_TIME.items():
        assert {"tenant", "user_id", column} <= set(schemas[table].names), table
