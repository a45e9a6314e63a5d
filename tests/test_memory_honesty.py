"""Honest memory: each remembered value with its confidence and age, transient states that fade, the evidence
behind each value, and corrections by the user that outrank what later conversations infer."""

import json
import logging
import random
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from jiwa.domain.profile import Correction, HistoryPoint, Profile, Remembered
from jiwa.enrichment.profile_merge import build_profile
from jiwa.settings import Settings
from serving.app import create_app
from serving.memory import Fading, prompt_memory
from serving.profiles import ProfileStore
from tests.support.sensor import sensor_then_run
from tests.support.server import auth, publish_profile, server_settings
from tests.test_profile_merge import T0, analysed

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def _remembered(value: str, days_ago: float, confidence: float = 0.55) -> Remembered:
    at = NOW - timedelta(days=days_ago)
    return Remembered(value=value, updated_at=at, first_seen=at, confidence=confidence, sources=("conv_1",))


def _profile(**context) -> Profile:
    return Profile(
        user_id="u1",
        tenant="acme",
        conversations=2,
        facts={"name": _remembered("Marta", 60, 0.7), "language": _remembered("it", 60, 0.9)},
        jiwa_context=context,
    )


def _correction(day: float, field: str, value: str | None, action="set", event="evt_1") -> Correction:
    return Correction(event_id=event, at=T0 + timedelta(days=day), field=field, action=action, value=value)


def test_an_anxiety_from_60_days_ago_has_left_the_block_and_a_name_from_then_has_not():
    memory = prompt_memory(_profile(anxieties=(_remembered("the visa", 60, 0.85),)), NOW, 1500)
    assert "anxieties" not in memory.block and "anxieties" not in memory
    assert memory.block["name"] == {"value": "Marta", "confidence": 0.7, "seen": "60 days ago"}
    # The reply code reads plain values, as before.
    assert memory["name"] == "Marta" and memory["language"] == "it"


def test_a_recent_transient_state_carries_its_faded_confidence_and_age():
    memory = prompt_memory(_profile(emotional_state=_remembered("anxious", 14, 0.8)), NOW, 1500)
    # One half-life old: half as sure as when it was seen.
    assert memory.block["emotional_state"] == {"value": "anxious", "confidence": 0.4, "seen": "14 days ago"}
    assert memory["emotional_state"] == "anxious"


def test_the_floor_and_the_age_limit_drop_transient_states_and_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("JIWA_MEMORY_HALF_LIFE_DAYS", "100")
    monkeypatch.setenv("JIWA_MEMORY_CONFIDENCE_FLOOR", "0.5")
    monkeypatch.setenv("JIWA_MEMORY_TRANSIENT_MAX_DAYS", "30")
    fading = Fading.of(Settings())
    assert fading == Fading(half_life_days=100, floor=0.5, max_days=30)
    profile = _profile(
        needs=(_remembered("someone to listen", 10, 0.9), _remembered("a lawyer", 10, 0.52)),
        trust_level=_remembered("high", 31, 1.0),
        dreams=(_remembered("a house by the sea", 400, 0.55),),
    )
    memory = prompt_memory(profile, NOW, 1500, fading)
    # 0.52 faded for 10 days is below the floor; trust seen 31 days ago is past the age limit however sure it was.
    assert [need["value"] for need in memory.block["needs_beyond_questions"]] == ["someone to listen"]
    assert "trust_level" not in memory.block
    # A dream is no passing state: it stays until contradicted.
    assert memory.block["dreams"][0]["value"] == "a house by the sea"


def test_the_emotional_trend_keeps_only_points_younger_than_the_age_limit():
    history = [
        HistoryPoint(value="anxious", at=NOW - timedelta(days=90), conversation_id="c1"),
        HistoryPoint(value="hopeful", at=NOW - timedelta(days=2), conversation_id="c2"),
    ]
    memory = prompt_memory(_profile().model_copy(update={"emotional_history": tuple(history)}), NOW, 1500)
    assert memory.block["emotional_trend"] == [{"value": "hopeful", "seen": "2 days ago"}]


def test_the_block_still_fits_its_budget_least_useful_fields_first():
    profile = _profile(emotional_state=_remembered("anxious", 1), personality=_remembered("careful planner", 1, 0.9))
    memory = prompt_memory(profile, NOW, 200)
    assert len(json.dumps(memory.block, ensure_ascii=False)) <= 200
    assert "name" in memory.block and "personality" not in memory.block and "personality" not in memory


def test_a_correction_outranks_later_inferences_of_the_field():
    profile = build_profile(
        "u1",
        "acme",
        [analysed(1, day=0, emotion="anxious"), analysed(2, day=2, emotion="anxious")],
        [_correction(1, "emotional_state", "calm")],
    )
    state = profile.jiwa_context.emotional_state
    assert state.value == "calm" and state.confidence == 1.0 and state.corrected_at == T0 + timedelta(days=1)
    assert [c.field for c in profile.corrections] == ["emotional_state"]
    # What the conversation said is still history; only the remembered state is the user's word.
    assert [point.value for point in profile.emotional_history] == ["anxious", "anxious"]


def test_the_user_stating_otherwise_lifts_a_correction():
    profile = build_profile(
        "u1",
        "acme",
        [analysed(1, day=0, name="Giulia"), analysed(2, day=2, name="Giulietta"), analysed(3, day=3, name="Giulia")],
        [_correction(1, "name", "Marta")],
    )
    # Day 2 she wrote her name herself; from then on what she writes counts again.
    assert profile.facts.name.value == "Giulia" and profile.facts.name.corrected_at is None
    assert profile.corrections == ()


def test_a_removed_value_stays_removed_until_the_user_states_it_again():
    def with_claims(conversation: int, day: int, anxieties=(), plans=()):
        item = analysed(conversation, day=day)
        item.analysis["anxieties"] = [{"value": v, "evidence": [1]} for v in anxieties]
        item.analysis["facts"]["plans"] = [{"value": v, "evidence": [1]} for v in plans]
        return item

    removals = [
        _correction(1, "anxieties", "the visa", "remove", "evt_1"),
        _correction(1, "plans", "open a cafe", "remove", "evt_2"),
    ]
    items = [
        with_claims(1, 0, anxieties=["the visa"], plans=["open a cafe"]),
        with_claims(2, 2, anxieties=["the visa", "the heat"]),
    ]
    profile = build_profile("u1", "acme", items, removals)
    assert [a.value for a in profile.jiwa_context.anxieties] == ["the heat"] and profile.facts.plans == ()
    restated = build_profile("u1", "acme", [*items, with_claims(3, 3, plans=["open a cafe"])], removals)
    assert [p.value for p in restated.facts.plans] == ["open a cafe"]
    assert [c.field for c in restated.corrections] == ["anxieties"]


def test_corrections_fold_the_same_in_any_order_and_record_the_cited_turns():
    items = [analysed(n, day=n, emotion=random.Random(n).choice(["calm", "anxious"]), name="Giulia") for n in range(5)]
    corrections = [_correction(1.5, "trust_level", "high", event="e1"), _correction(3.5, "name", None, "remove", "e2")]
    built = build_profile("u1", "acme", items, corrections)
    for seed in range(5):
        shuffled_items, shuffled_corrections = items[:], corrections[:]
        random.Random(seed).shuffle(shuffled_items)
        random.Random(seed).shuffle(shuffled_corrections)
        assert build_profile("u1", "acme", shuffled_items, shuffled_corrections * 2) == built
    assert built.jiwa_context.communication_preference.turns == {f"conv_{n}": (1, 3) for n in range(5)}


def test_profiles_stored_before_corrections_and_turns_still_load():
    stored = json.loads(_profile(emotional_state=_remembered("anxious", 1)).model_dump_json())
    for section in ("facts", "jiwa_context"):
        for value in stored[section].values():
            if isinstance(value, dict):
                value.pop("turns"), value.pop("corrected_at")
    stored.pop("corrections"), stored.pop("corrections_through")
    profile = Profile.model_validate(stored)
    assert profile.facts.name.turns == {} and profile.corrections == ()


async def test_a_correction_survives_the_analysis_of_a_later_conversation_that_infers_the_old_value(
    claude, data_uri, caplog
):
    caplog.set_level(logging.INFO)  # the server logs at INFO (serving.app.configure_logging)
    app = create_app(server_settings(data_uri, claude.url))
    async with AsyncTestClient(app=app) as client:
        services = app.state.services
        first = await _chat_and_end(client, "Mi chiamo Giulia e ho paura per il mio KITAS")
        assert sensor_then_run(data_uri) == [first]
        services.profiles.refresh()
        before = (await client.get("/v1/users/giulia/memory", headers=auth())).json()
        assert _block(before)["emotional_state"]["value"] == "anxious"
        # Each value shows its evidence: the conversation, the turn it cites, how sure, and whether it grounds replies.
        name = _field(before, "name")
        assert name["sources"] == [first] and name["turns"] == {first: [1]} and name["in_grounding"] is True
        assert name["confidence"] == name["current_confidence"] == 0.55 and name["transient"] is False
        assert _field(before, "emotional_state")["transient"] is True and name["seen"] == "today"
        [worry] = [f for f in before["fields"] if f["field"] == "anxieties"]

        corrected = await client.put(
            "/v1/users/giulia/memory/emotional_state", json={"value": "sereno dopo il visto"}, headers=auth()
        )
        assert corrected.status_code == 200, corrected.text
        state = _block(corrected.json())["emotional_state"]
        assert state == {"value": "sereno dopo il visto", "confidence": 1.0, "seen": "today", "corrected_by_user": True}
        removed = await client.request(
            "DELETE", "/v1/users/giulia/memory/anxieties", json={"value": worry["value"]}, headers=auth()
        )
        assert removed.status_code == 200 and "anxieties" not in _block(removed.json())

        # A later conversation in which the analysis infers the old state and the old worry again.
        second = await _chat_and_end(client, "Ho ancora paura per il mio KITAS")
        assert sensor_then_run(data_uri) == [second]
        services.profiles.refresh()
        after = (await client.get("/v1/users/giulia/memory", headers=auth())).json()
        assert _block(after)["emotional_state"]["value"] == "sereno dopo il visto" and "anxieties" not in _block(after)
        assert after["profile"]["conversations"] == 2

    # The pipeline folded the correction in: what it published says the same without the server's help.
    published = ProfileStore(data_uri, 1500)
    published.refresh()
    context = published.profile("acme", "giulia").jiwa_context
    assert context.emotional_state.value == "sereno dopo il visto" and context.anxieties == ()
    assert "sereno" not in caplog.text and "KITAS" not in caplog.text


async def test_a_correction_is_served_at_once_by_every_server_process(claude, data_uri):
    publish_profile(data_uri, "ketut", "Ketut", "anxious")
    app = create_app(server_settings(data_uri, claude.url))
    async with AsyncTestClient(app=app) as client:
        await _chat(client, "ketut", "Halo")
        put = await client.put("/v1/users/ketut/memory/name", json={"value": "Komang"}, headers=auth())
        assert put.status_code == 200 and put.json()["profile"]["facts"]["name"]["value"] == "Komang"
        assert (await app.state.services.profiles.lookup("acme", "ketut"))["name"] == "Komang"
        # Another process on the same stores (or this one restarted) reads it from the conversation store.
        other = ProfileStore(data_uri, 1500, app.state.services.repository)
        other.refresh()
        assert other.profile("acme", "ketut").facts.name.value == "Komang"
        assert other.profile("acme", "ketut").facts.language.value == "id"


async def test_corrections_are_validated_and_only_the_users_own_tenant_may_make_them(claude, data_uri):
    publish_profile(data_uri, "wayan", "Wayan", "anxious")
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        await _chat(client, "wayan", "Halo")
        unknown = await client.put("/v1/users/wayan/memory/shoe_size", json={"value": "42"}, headers=auth())
        assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "field"
        assert "'shoe_size'" in unknown.json()["error"]["message"] and "anxieties" in unknown.json()["error"]["message"]
        blank = await client.put("/v1/users/wayan/memory/name", json={"value": " \u200b"}, headers=auth())
        assert blank.status_code == 400 and blank.json()["error"]["param"] == "value"
        missing = await client.delete("/v1/users/wayan/memory/anxieties", headers=auth())
        assert missing.status_code == 404 and "not remembered" in missing.json()["error"]["message"]
        wrong = await client.request("DELETE", "/v1/users/wayan/memory/name", json={"value": "Made"}, headers=auth())
        assert wrong.status_code == 404 and wrong.json()["error"]["message"].startswith("value 'Made' of name")
        elsewhere = await client.put("/v1/users/wayan/memory/name", json={"value": "X"}, headers=auth("globex"))
        assert elsewhere.status_code == 404
        assert (await client.delete("/v1/users/wayan/memory/name", headers=auth("globex"))).status_code == 404
        added = await client.put("/v1/users/wayan/memory/plans", json={"value": "surf in Uluwatu"}, headers=auth())
        assert [plan["value"] for plan in _block(added.json())["plans"]] == ["surf in Uluwatu"]
        gone = await client.delete("/v1/users/wayan/memory/emotional_state", headers=auth())
        assert gone.status_code == 200 and "emotional_state" not in _block(gone.json())
        schema = (await client.get("/schema/openapi.json")).json()
        operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
        assert {"getUserMemory", "correctUserMemory", "removeUserMemory"} <= operations


async def _chat(client, user: str, message: str) -> str:
    reply = await client.post("/v1/chat", json={"user_id": user, "message": message}, headers=auth())
    assert reply.status_code == 200, reply.text
    return reply.json()["conversation_id"]


async def _chat_and_end(client, message: str) -> str:
    conversation_id = await _chat(client, "giulia", message)
    assert (await client.post(f"/v1/conversations/{conversation_id}/end", headers=auth())).status_code == 200
    return conversation_id


def _block(memory: dict) -> dict:
    return json.loads(memory["grounding_text"].split("<user_memory>")[1].split("</user_memory>")[0])


def _field(memory: dict, field: str) -> dict:
    [value] = [f for f in memory["fields"] if f["field"] == field]
    return value


async def test_removing_a_list_field_of_someone_not_yet_remembered_is_a_404(claude, data_uri):
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        await _chat(client, "nyoman", "Halo")
        missing = await client.delete("/v1/users/nyoman/memory/anxieties", headers=auth())
        assert missing.status_code == 404 and "not remembered" in missing.json()["error"]["message"]
