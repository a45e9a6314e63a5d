"""The cache reads the conversation around a message: a follow-up is left to Claude, and a returning user's greeting
is a welcome back with their name and when they last talked, rotated."""

from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from jiwa.catalogue.intents import load_intents
from jiwa.catalogue.welcome import days_ago
from jiwa.response_cache.followups import leans_on_context
from serving.app import create_app
from tests.support.server import auth, publish_curated, publish_profile, publish_team_cache, server_settings


@pytest.fixture()
async def client(claude, data_uri, resources):
    publish_curated(resources)
    publish_team_cache(resources)
    publish_profile(data_uri, "wayan", "Wayan", "calm")
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        yield client


async def ask(client, message: str, user: str = "u1", conversation_id: str | None = None, language: str | None = None):
    response = await client.post(
        "/v1/chat",
        json={"user_id": user, "message": message, "conversation_id": conversation_id, "language": language},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "follow_up", ["and how much for my wife?", "e quanto costa?", "how long does it take to get a KITAS?"]
)
async def test_a_follow_up_in_a_conversation_about_kitas_is_left_to_claude(client, follow_up):
    opening = await ask(client, "what is a KITAS?")
    assert opening["source"] == "cache" and opening["cache_intent"] == "kitas_definition"
    later = await ask(client, follow_up, conversation_id=opening["conversation_id"])
    assert later["source"] == "claude" and later["cache_intent"] is None


async def test_the_same_questions_standing_alone_follow_the_precision_rules(client):
    # Neither names what it asks about, so alone they are not cached questions either...
    for message in ("and how much for my wife?", "e quanto costa?"):
        assert (await ask(client, message, user="fresh"))["source"] == "claude"
    # ...while one that names its subject is answered from the cache when it opens a conversation.
    alone = await ask(client, "how long does it take to get a KITAS?", user="fresh")
    assert alone["source"] == "cache" and alone["cache_intent"] == "kitas_processing_time"


async def test_social_messages_and_self_contained_questions_are_still_cached_mid_conversation(client):
    opening = await ask(client, "what is a KITAS?")
    thanks = await ask(client, "thanks a lot, that helps", conversation_id=opening["conversation_id"])
    assert thanks["source"] == "cache" and thanks["cache_intent"] == "thanks"
    cost = await ask(client, "how much does a KITAS cost?", conversation_id=opening["conversation_id"])
    assert cost["source"] == "cache" and cost["cache_intent"] == "kitas_cost"


def test_connectors_open_and_references_point_back_in_all_three_languages():
    leaning = [
        "and for my wife?",
        "what about the kids",
        "e per i bambini?",
        "invece per mio marito?",
        "quanto costa quello?",
        "kalau untuk istri?",
        "terus biayanya?",
        "yang tadi berapa?",
        "kalau yang itu?",
        "how long does it take?",
        "sorry, what did you mean by sponsor there?",
        "wait, even if the lease is notarised?",
        "scusa nn ho capito la parte sullo sponsor, me la rispieghi?",
        "maksudnya sponsor itu sy atau perusahaan?",
    ]
    standing = [
        "how much does a KITAS cost?",
        "quanto costa il KITAS?",
        "berapa biaya KITAS?",
        "e-voa quanto costa?",
        "difference between KITAS and KITAP",
        "Halo!",
    ]
    assert [m for m in leaning if not leans_on_context(m)] == []
    assert [m for m in standing if leans_on_context(m)] == []


async def test_a_returning_user_is_welcomed_back_by_name_with_when_they_last_talked_rotated(client):
    last_seen = datetime(2026, 11, 20, tzinfo=UTC)  # publish_profile's last conversation
    when = days_ago((datetime.now(UTC).date() - last_seen.date()).days, "id")
    replies = [(await ask(client, "halo", user="wayan", language="id"))["reply"] for _ in range(5)]
    assert all("Wayan" in reply and when in reply for reply in replies), replies
    assert len(set(replies)) == 5  # five greetings in a row, five different sentences
    assert set(replies) <= {
        text.replace("{name}", " Wayan").replace("{last_chat}", when) for text in load_intents().welcome_back["id"]
    }

    newcomer = await ask(client, "halo", user="someone-new", language="id")
    assert newcomer["cache_intent"] == "greeting" and newcomer["reply"] == load_intents().intents["greeting"].reference[
        "id"
    ].replace("{name}", "")

    opening = await ask(client, "apa itu KITAS?", user="wayan", language="id")
    mid = await ask(client, "halo", user="wayan", conversation_id=opening["conversation_id"], language="id")
    assert "Selamat datang kembali" not in mid["reply"] and when not in mid["reply"]


def test_the_welcome_back_file_has_five_greetings_per_language_and_no_facts():
    from jiwa.catalogue.intents import fact_problems, load_facts

    greetings = load_intents().welcome_back
    assert {language: len(texts) >= 5 for language, texts in greetings.items()} == {"en": True, "it": True, "id": True}
    assert [t for texts in greetings.values() for t in texts if fact_problems(t, load_facts())] == []
