"""Forgetting that is complete, end to end on a Dagster instance on disk: a user's canary and name go through chat,
analysis, profiles, nightly learning and intent proposals; after DELETE and compaction a byte search of every file
under the data directory and DAGSTER_HOME finds neither."""

from pathlib import Path

import dagster as dg
from litestar.testing import AsyncTestClient

from assets.enrichment import conversation_analyses, finished_conversations, jiwa_profiles
from assets.knowledge import cultural_topics, curated_insights
from assets.maintenance import store_compaction
from assets.resources import LearningResource, StoresResource
from jiwa.store.analyses import profile_id
from serving.app import create_app
from tests.support.attack_loop import yesterday_clock
from tests.support.nightly import NIGHTLY, night
from tests.support.resources import pipeline_resources
from tests.support.server import auth, server_settings

# The longest word of her question, so the fake LLAMA's lesson carries it too (in lower case, a name would be screened).
CANARY = "zebracanary"
NAME = "Giulietta"
CORRECTED = "aprire un warung a Canggu"
QUESTION = "Can I bring my dog zebracanary to Bali?"
OTHERS = ["Can I bring my dog to Bali?", "can i bring my dog to bali please"]


def _files_with(root: Path, text: str) -> list[str]:
    needle = text.encode()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


async def _chat(client, user: str, messages: list[str], rating: str, comment: str) -> str:
    conversation_id = message_id = None
    for message in messages:
        reply = (
            await client.post(
                "/v1/chat",
                json={"user_id": user, "message": message, "conversation_id": conversation_id},
                headers=auth(),
            )
        ).json()
        conversation_id, message_id = reply["conversation_id"], reply["message_id"]
    await client.post(
        f"/v1/messages/{message_id}/feedback",
        json={"user_id": user, "rating": rating, "comment": comment},
        headers=auth(),
    )
    await client.post(f"/v1/conversations/{conversation_id}/end", headers=auth())
    return conversation_id


async def test_a_forgotten_user_leaves_no_byte_under_the_data_directory_or_dagster_home(claude, tmp_path, monkeypatch):
    data, home = tmp_path / "stores", tmp_path / "dagster_home"
    day = yesterday_clock(monkeypatch)
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(home))
    resources = {**pipeline_resources(str(data)), "learning": LearningResource(min_users=1)}
    app = create_app(server_settings(str(data), claude.url))
    async with AsyncTestClient(app=app) as client:
        hers = await _chat(client, "u-7", [QUESTION, f"Mi chiamo {NAME}, sono preoccupata"], "down", f"{CANARY} again")
        for index, question in enumerate(OTHERS):
            await _chat(client, f"u-{index}", [question], "up", "thanks")

        assert dg.materialize([cultural_topics, curated_insights], resources=resources, instance=instance).success
        # The analyses run as the sensor asks for them: by token, so no conversation id enters Dagster's storage.
        with dg.build_sensor_context(instance=instance, resources=resources) as tick:
            [request] = finished_conversations(tick)
        assert hers not in tick.cursor and hers not in str(request.run_config)
        assert dg.materialize(
            [conversation_analyses, jiwa_profiles],
            resources=resources,
            instance=instance,
            run_config=request.run_config,
        ).success
        metadata = night(resources, day, instance=instance, assets=NIGHTLY)
        assert metadata["nightly_findings"]["kept"] >= 1 and metadata["proposed_intents"]["proposals"] == 1
        # Before the forget, what she wrote and what was inferred about her is in the stores...
        holding = _files_with(data, CANARY)
        for table in ("conversation_analyses", "nightly_findings", "learned_insights", "intent_proposals"):
            assert any(path.startswith(f"{table}.lance") for path in holding), (table, holding)
        assert any(path.startswith("jiwa_profiles.lance") for path in _files_with(data, NAME))
        # ...but never in Dagster's storage: its metadata shows counts and ids.
        import shutil

        shutil.copytree(home, "/tmp/home_copy", dirs_exist_ok=True)
        assert _files_with(home, CANARY) == [] and _files_with(home, NAME) == []

        # Her correction of her memory is hers too: an event in the store, served from the server's memory.
        corrected = await client.put("/v1/users/u-7/memory/plans", json={"value": CORRECTED}, headers=auth())
        assert corrected.status_code == 200, corrected.text
        forgotten = await client.delete("/v1/users/u-7", headers=auth())
        assert forgotten.status_code == 200, forgotten.text
        assert app.state.services.profiles.profile("acme", "u-7") is None
        assert app.state.services.repository.corrections_since(None) == []

    assert store_compaction.execute_in_process(
        resources={"stores": StoresResource(data_uri=str(data))}, instance=instance
    ).success
    instance.dispose()  # closes its SQLite storage here, so every byte is on disk and no connection outlives the test
    for needle in (CANARY, NAME, "preoccupata", CORRECTED):
        assert _files_with(data, needle) == [], needle
        assert _files_with(home, needle) == [], needle
    # Nothing that identifies her either: no profile id (a hash anyone who knows her id can recompute) in Dagster's
    # storage, and her id only in the conversation store's forget tombstone, not in the tables' transaction files.
    assert _files_with(home, profile_id("acme", "u-7")) == [] and _files_with(home, hers) == []
    assert _files_with(data, profile_id("acme", "u-7")) == []
    assert {path.split("/")[0] for path in _files_with(data, "u-7")} <= {
        "conversations.sqlite3",
        "conversations.sqlite3-wal",
    }
    # Everyone else's questions are still there to be proposed.
    assert _files_with(data, "please")
