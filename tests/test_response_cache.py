"""The common-response cache: the asset and its fact check, matching on the team's evaluation set, and serving."""

import asyncio

import dagster as dg
import lancedb
import pytest
from litestar.testing import AsyncTestClient

from assets.nightly import feedback_scores
from assets.resources import LearningResource
from assets.response_cache import common_response_cache, curated_facts, intent_catalogue
from assets.response_cache.cache import ResponseCacheConfig
from jiwa.catalogue.intents import load_facts, load_intents, seed_matcher
from jiwa.conversations import sqlite_url
from jiwa.conversations.reader import EventReader
from jiwa.conversations.repository import ConversationRepository
from jiwa.domain.status import CACHE_ANSWER
from jiwa.settings import KnowledgeSettings
from jiwa.store.learned import withheld_ids
from jiwa.store.schema import RESPONSE_CACHE_TABLE
from serving.app import create_app
from serving.auth import Tenant
from serving.domain import Question
from serving.ownership import Ownership
from tests.support.fakes import FakeLlamaResource
from tests.support.intent_eval import load_cases, score
from tests.support.resources import pipeline_resources
from tests.support.server import FACTS_CHECKED_ON, auth, publish_profile, server_settings


def _resources(data_uri, script=None):
    return pipeline_resources(data_uri, FakeLlamaResource(script=script or []))


def publish_cache(data_uri, **config):
    result = dg.materialize(
        [curated_facts, intent_catalogue, common_response_cache],
        resources=_resources(data_uri),
        run_config={"ops": {"common_response_cache": {"config": config}}} if config else None,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return result


def _answers(data_uri):
    rows = lancedb.connect(data_uri).open_table(RESPONSE_CACHE_TABLE).to_arrow().to_pylist()
    return [row for row in rows if row["kind"] == CACHE_ANSWER]


def test_cache_is_published_with_facts_filled_in(data_uri):
    result = publish_cache(data_uri)
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "facts_only_from_file": True,
        "intents_covered": True,
        "phrasings_match_their_intent": True,
    }
    answers = _answers(data_uri)
    assert {(row["intent"], row["language"]) for row in answers} >= {
        ("kitas_cost", lang) for lang in ("en", "it", "id")
    }
    cost = next(
        row
        for row in answers
        if row["intent"] == "kitas_cost" and row["language"] == "en" and row["style"] == "reference"
    )
    facts = load_facts().facts
    assert "{kitas_work_cost}" in cost["template"] and facts["kitas_work_cost"].value in cost["text"]
    assert "{" not in cost["text"]
    # Facts are written in the answer's language, not pasted in English.
    kitap_it = next(
        row
        for row in answers
        if row["intent"] == "kitap_definition" and row["language"] == "it" and row["style"] == "reference"
    )
    assert "5 anni, rinnovabile" in kitap_it["text"] and "years" not in kitap_it["text"]


def test_an_invented_price_fails_the_fact_check_and_nothing_is_published(data_uri):
    catalogue = load_intents()
    tampered = catalogue.model_copy(
        update={
            "intents": {
                **catalogue.intents,
                "kitas_cost": catalogue.intents["kitas_cost"].model_copy(
                    update={
                        "reference": {
                            **catalogue.intents["kitas_cost"].reference,
                            "en": "A KITAS costs about USD 1,500, all included.",
                        }
                    }
                ),
            }
        }
    )
    with dg.build_asset_context(resources=_resources(data_uri)) as context:
        result = common_response_cache(
            context=context,
            config=ResponseCacheConfig(paraphrases_per_language=0, variants_per_language=0),
            curated_facts=load_facts(),
            intent_catalogue=tampered,
        )
    checks = {check.check_name: check for check in result.check_results}
    assert checks["facts_only_from_file"].passed is False
    assert "kitas_cost" in str(checks["facts_only_from_file"].metadata["offending"].value)
    assert result.metadata["published"] is False
    assert RESPONSE_CACHE_TABLE not in lancedb.connect(data_uri).table_names()


def test_a_model_variant_stating_a_number_is_rejected_and_counted(data_uri):
    invented = '{"answer": "A KITAS costs around 1500 dollars, easy!"}'
    with dg.build_asset_context(resources=_resources(data_uri, script=[invented] * 3)) as context:
        result = common_response_cache(
            context=context,
            config=ResponseCacheConfig(paraphrases_per_language=0, variants_per_language=1, intent_limit=1),
            curated_facts=load_facts(),
            intent_catalogue=load_intents(),
        )
    assert (
        result.metadata["rejected"].value["schema_schema"] == 3
        and result.metadata["rejected"].value["dropped_after_retries"] == 1
    )
    assert result.metadata["published"] is True  # the team's reference answer still covers it


def test_a_changed_fact_changes_the_code_version_and_the_rebuilt_answers(data_uri, tmp_path):
    assert curated_facts.code_versions_by_key[curated_facts.key] == load_facts().sha256[:16]
    graph = dg.Definitions(
        assets=[curated_facts, intent_catalogue, common_response_cache], resources=_resources(data_uri)
    ).resolve_asset_graph()
    assert curated_facts.key in graph.get(common_response_cache.key).parent_keys

    facts = load_facts()
    changed = facts.model_copy(
        update={
            "facts": {
                **facts.facts,
                "kitas_work_cost": facts.facts["kitas_work_cost"].model_copy(update={"value": "2,000–2,400"}),
            },
            "sha256": "new",
        }
    )
    with dg.build_asset_context(resources=_resources(data_uri)) as context:
        common_response_cache(
            context=context,
            config=ResponseCacheConfig(paraphrases_per_language=0, variants_per_language=0),
            curated_facts=changed,
            intent_catalogue=load_intents(),
        )
    texts = {row["language"]: row["text"] for row in _answers(data_uri) if row["intent"] == "kitas_cost"}
    assert "2,000–2,400" in texts["en"] and "2.000–2.400" in texts["it"] and "2.000–2.400" in texts["id"]
    assert {row["facts_version"] for row in _answers(data_uri)} == {"new"}


def test_matching_on_the_team_evaluation_set_meets_the_floor(embedder):
    threshold = KnowledgeSettings().cache_min_similarity  # the shipped default, tuned for the default embedder
    matcher = seed_matcher(load_intents(), embedder.embed, threshold)
    cases = load_cases()
    result = score(
        lambda message, vector: matcher.match(message, vector).intent, cases, embedder.embed([c.message for c in cases])
    )
    # The near-miss gate trades paraphrases for precision: 0.99 of the set's paraphrases hit without it, 0.67 with it
    # (en 0.75, it 0.63, id 0.64), and on the realistic questions it cuts wrong answers from 20 of 99 to 6 of 66.
    for language in ("en", "it", "id"):
        assert result.hit_rate(language) >= 0.6, (language, result.hit_rate(language))
    assert result.wrong_share() <= 0.01, result.wrong_examples
    assert sum(result.positives.values()) >= 140 and len(cases) - sum(result.positives.values()) >= 60


@pytest.fixture()
async def cached_client(claude, data_uri):
    publish_cache(data_uri, paraphrases_per_language=1, variants_per_language=2)
    publish_profile(data_uri, "made", "Made", "anxious")
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        yield client


async def _ask(client, message, user="made", **extra):
    response = await client.post("/v1/chat", json={"user_id": user, "message": message, **extra}, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_common_question_is_answered_from_the_cache_personalised(cached_client, claude):
    answer = await _ask(cached_client, "berapa biaya KITAS?")
    assert answer["source"] == "cache" and answer["cache_intent"] == "kitas_cost"
    assert answer["reply"].startswith("Tenang saja")  # anxious: reassurance first
    assert load_facts().facts["kitas_work_cost"].render("id") in answer["reply"]
    assert "cache" in answer["timings_ms"] and "responder" not in answer["timings_ms"]
    assert claude.requests == []

    greeting = await _ask(cached_client, "halo!")
    assert greeting["cache_intent"] == "greeting" and "Made" in greeting["reply"]


async def test_a_cached_answer_is_stored_with_its_question_in_one_commit(cached_client, monkeypatch):
    commits = []
    append = ConversationRepository.append
    monkeypatch.setattr(
        ConversationRepository, "append", lambda self, batch: (commits.append(batch), append(self, batch))
    )
    answer = await _ask(cached_client, "how much does a KITAS cost?", user="wayan")
    assert answer["source"] == "cache"
    assert [[(e.role, e.answers_from is not None) for e in batch] for batch in commits] == [
        [("user", False), ("assistant", True)]
    ]
    question, reply = commits[0]
    assert reply.answers_from == question.created_at and reply.cache_intent == "kitas_cost"
    stored = await cached_client.get(f"/v1/conversations/{answer['conversation_id']}", headers=auth())
    assert [t["role"] for t in stored.json()["turns"]] == ["user", "assistant"]

    commits.clear()
    await _ask(cached_client, "is it rude to refuse food at a ceremony?", user="wayan")  # Claude: question first
    assert [[e.role for e in batch] for batch in commits] == [["user"], ["assistant"]]


async def test_a_streamed_cached_answer_is_stored_before_its_text_is_shown(cached_client):
    services = cached_client.app.state.services
    owner = Ownership(services.conversations, Tenant("acme"))
    turn = await services.chat.stream(owner, Question("ketut", "berapa biaya KITAS?", None, "id"), endpoint="chat")
    shown = await anext(turn.items)
    await turn.items.aclose()  # the client goes away once it has the text
    stored = [(t.role, t.source) for t in turn.conversation.turns]
    assert stored == [("user", None), ("assistant", "cache")] and turn.conversation.turns[1].content == shown


async def test_variants_rotate_for_a_returning_user(cached_client):
    replies = {(await _ask(cached_client, "how much does a KITAS cost?", user="tom"))["reply"] for _ in range(3)}
    assert len(replies) >= 2


async def test_near_misses_go_to_the_responder(cached_client, claude):
    messages = (
        "how much is a villa in canggu",
        "berapa biaya KITAP?",
        "how much is a KITAS for my wife and kids",
        "how do I get an NIB, is OSS something I can do myself or do I need a deed first",  # the answer has no deed
    )
    for message in messages:
        answer = await _ask(cached_client, message, user="nyoman")
        assert answer["source"] == "claude" and answer["cache_intent"] is None, message
    assert len(claude.requests) == len(messages)


def test_the_cache_rebuilds_itself_when_its_files_change(data_uri):
    from pipelines.definitions import defs

    sensor = defs.get_sensor_def("cache_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()
    cache_defs = dg.Definitions(
        assets=[curated_facts, intent_catalogue, common_response_cache], resources=_resources(data_uri)
    )
    baseline = dg.evaluate_automation_conditions(defs=cache_defs, instance=instance)
    # The team files were read again (as after an edit and a reload): the cache built on them follows.
    dg.materialize([curated_facts, intent_catalogue], resources=_resources(data_uri), instance=instance)
    after_edit = dg.evaluate_automation_conditions(defs=cache_defs, instance=instance, cursor=baseline.cursor)
    assert after_edit.get_num_requested(common_response_cache.key) == 1


async def _served_variants(client, data_uri: str, user: str, question: str, times: int) -> set[str]:
    """The cached answer variants the user was served (as the log records them, for feedback to score)."""
    for _ in range(times):
        assert (await _ask(client, question, user=user))["source"] == "cache"
    served = EventReader(sqlite_url(data_uri)).query(
        "SELECT cache_answer FROM events WHERE user_id = ? AND role = 'assistant'", [user]
    )
    return set(served.column("cache_answer").to_pylist())


async def test_cached_answers_rated_down_are_withheld_from_then_on(cached_client, data_uri):
    question = "how much does a KITAS cost?"
    for user in ("u1", "u2"):
        answer = await _ask(cached_client, question, user=user)
        feedback = {"user_id": user, "rating": "down", "comment": "wrong for me"}
        await cached_client.post(f"/v1/messages/{answer['message_id']}/feedback", json=feedback, headers=auth())
    rated = await _served_variants(cached_client, data_uri, "u1", question, 0)
    rated |= await _served_variants(cached_client, data_uri, "u2", question, 0)
    # The rotation serves every variant, the rated ones included.
    assert rated <= await _served_variants(cached_client, data_uri, "u8", question, 6)

    resources = {**pipeline_resources(data_uri), "learning": LearningResource(withhold_after_users=1)}
    assert dg.materialize([feedback_scores], resources=resources).success
    team = {row["id"] for row in _answers(data_uri) if row["source"] == "team"}
    withheld = withheld_ids(lancedb.connect(data_uri)).get("acme", frozenset())
    # LLAMA's variants go; the team's own answer is never withheld by votes (an analyst reviews it instead).
    assert rated - team and rated - team <= withheld and not (withheld & team)
    await asyncio.sleep(1.0)  # the server's refresh loop runs every 0.2 s here
    after = await _served_variants(cached_client, data_uri, "u9", question, 6)
    assert after and not (after & (rated - team))


async def test_three_accounts_cannot_strip_a_tenants_curated_answers(cached_client, data_uri, resources):
    """The abuse as it was probed: three accounts rate down every reply they get, night after night. Curated and
    team-written content goes to an analyst, never away; LLAMA's variants are weighed against every user shown
    them, each account within its budget."""
    questions = ["quanto costa il KITAS?", "berapa biaya KITAS?", "how much does a KITAS cost?", "cos'è il NIB?"]
    for index in range(3):
        for question in questions * 3:
            answer = await _ask(cached_client, question, user=f"troll{index}")
            rating = {"user_id": f"troll{index}", "rating": "down", "comment": "bad"}
            assert (
                await cached_client.post(f"/v1/messages/{answer['message_id']}/feedback", json=rating, headers=auth())
            ).status_code == 201
    for index in range(12):  # ordinary users, shown the same answers, who rate nothing
        await _ask(cached_client, questions[index % len(questions)], user=f"quiet{index}")
    scores = dg.materialize([feedback_scores], resources=resources, instance=dg.DagsterInstance.ephemeral())
    metadata = {k: v.value for k, v in scores.asset_materializations_for_node("feedback_scores")[0].metadata.items()}
    team = {row["id"] for row in _answers(data_uri) if row["source"] == "team"}
    withheld = withheld_ids(lancedb.connect(data_uri)).get("acme", frozenset())
    assert not (withheld & team)
    assert metadata["needs_review"] >= 1 and "for an analyst" in metadata["review_preview"]
    assert "bad" not in str(metadata) and "troll" not in str(metadata)
    await asyncio.sleep(1.0)
    again = await _ask(cached_client, "quanto costa il KITAS?", user="nuova")
    assert again["source"] == "cache" and again["cache_intent"] == "kitas_cost"


def test_a_cache_table_not_yet_filled_is_skipped_and_the_next_version_served(data_uri, embedder):
    import pyarrow as pa

    from jiwa.store.lance import upsert
    from jiwa.store.schema import response_cache_schema
    from serving.insights import QueryEmbedder
    from serving.response_cache import ResponseCache
    from serving.withheld import Withheld

    schema = response_cache_schema(embedder.model_name, embedder.dimension)
    upsert(lancedb.connect(data_uri), RESPONSE_CACHE_TABLE, schema, pa.Table.from_pylist([], schema=schema))
    cache = ResponseCache(data_uri, embedder, QueryEmbedder(embedder), Withheld(data_uri), FACTS_CHECKED_ON)
    cache.refresh()  # the table exists with no rows yet, as between the two commits of its first publish
    assert cache.status()["loaded"] is False
    publish_cache(data_uri, paraphrases_per_language=0, variants_per_language=0)
    cache.refresh()
    assert cache.status()["loaded"] is True
