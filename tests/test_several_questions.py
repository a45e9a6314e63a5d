"""A message that asks several questions, or one wrapped in greetings and thanks, with the real matcher, embedder and
published cache: served when every question in it is the same cached intent, left to the responder otherwise."""

import asyncio
import tempfile
from pathlib import Path

import pytest

from bench.support.publish import publish_team_cache
from serving.insights import QueryEmbedder
from serving.response_cache import ResponseCache
from serving.withheld import Withheld
from tests.support.resources import pipeline_resources
from tests.support.server import FACTS_CHECKED_ON


@pytest.fixture(scope="module")
def cache(embedder):
    with tempfile.TemporaryDirectory(prefix="jiwa-several-") as folder:
        data_uri = str(Path(folder) / "stores")
        publish_team_cache(pipeline_resources(data_uri))
        cache = ResponseCache(data_uri, embedder, QueryEmbedder(embedder), Withheld(data_uri), FACTS_CHECKED_ON)
        cache.refresh()
        yield cache


def _served(cache, message: str, lang: str) -> str | None:
    hit = asyncio.run(cache.lookup(message, lang, None, ("several", "user")))
    return hit.intent if hit else None


def _reason(cache, message: str) -> str:
    return cache._snapshot.matcher.candidate(message)[2]


@pytest.mark.parametrize(
    "message, lang",
    [
        ("ciao? quanto costa il voa?", "it"),  # a bare question mark after a greeting is social
        ("ciao? quanto costa il voa? grazie mille!", "it"),
        ("hi? how much is the voa? thanks!", "en"),
        ("halo kak! berapa biaya voa? makasih ya", "id"),
        ("how much is the voa? thanks in advance everyone?", "en"),  # thanks with other words, still no topic
    ],
)
def test_a_question_among_greetings_and_thanks_is_served(cache, message, lang):
    assert _served(cache, message, lang) == "voa_cost"


@pytest.mark.parametrize(
    "message, lang, intent",
    [
        ("berapa biaya voa? harga voa berapa?", "id", "voa_cost"),
        ("how much is the voa? how much does a voa cost?", "en", "voa_cost"),
        ("what is an npwp? what does npwp mean?", "en", "npwp_tax_id"),
        ("what is lkpm? when is the lkpm due?", "en", "lkpm_report"),
    ],
)
def test_two_questions_of_the_same_intent_are_served_once(cache, message, lang, intent):
    assert cache._snapshot.matcher.questions(message) == tuple(
        part.strip() + "?" for part in message.split("?") if part.strip()
    )
    assert _served(cache, message, lang) == intent


@pytest.mark.parametrize(
    "message, lang",
    [
        ("ciao! quanto costa il voa? e quanto dura?", "it"),  # "e quanto dura?" means something only after the first
        ("quanto costa il voa? e per mia moglie?", "it"),
        # A short question that names a group is a question of its own, even an aspect the intent's rules allow: its
        # answer need not say it (the change-of-sponsor answer gives no price).
        ("posso cambiare sponsor del KITAS? quanto costa?", "it"),
        ("quanto costa il KITAS? cos'è?", "it"),
        ("cos'è il KITAS? quanto costa?", "it"),
        ("apa itu KITAS? syaratnya apa?", "id"),
        ("what is a KITAP? and a KITAS?", "en"),
        ("how do I get a spouse KITAS? what about my kids?", "en"),
        ("quanto costa il voa? quanto costa il kitas per mia moglie?", "it"),
        ("overstay 5 hari dendanya brp? bisa dideportasi gak?", "id"),
        ("I have a kitas. how much is the voa? thanks?", "en"),
        ("bye? but how much is a KITAS?", "en"),  # a goodbye is not social: the team's near miss of farewell
    ],
)
def test_a_message_with_an_unmatched_question_goes_to_the_responder_whole(cache, message, lang):
    assert _served(cache, message, lang) is None


@pytest.mark.parametrize(
    "message, lang, intent",
    [
        ("capitale minimo pt pma? 10 miliardi davvero??", "it", "pt_pma_capital"),
        ("SKTT itu apa? wajib buat wna?", "id", "sktt_residence"),
    ],
)
def test_a_short_question_naming_no_group_asks_on_about_the_one_before(cache, message, lang, intent):
    assert cache._snapshot.matcher.questions(message) == (message,)
    assert _served(cache, message, lang) == intent


def test_a_longer_question_naming_no_topic_asks_its_own(cache):
    message = "nella PT PMA chi deve essere direttore e chi commissario? posso essere io tutti e due?"
    assert len(cache._snapshot.matcher.questions(message)) == 2
    assert _served(cache, message, "it") is None


def test_a_narrower_second_question_on_the_same_topic_is_not_served(cache):
    # "telkomsel or xl better?" passes the SIM card terms, but the answer does not compare operators: several
    # questions each need more than a lone question's similarity.
    assert _served(cache, "where to buy a sim card in ubud? telkomsel or xl better?", "en") is None


@pytest.mark.parametrize("message", ["how much is the voa? what is an npwp?", "quanto costa il voa? cos'è l'npwp?"])
def test_questions_of_different_intents_are_left_to_the_responder(cache, message):
    """Two cached answers stacked are not served: feedback and withheld answers score one answer per reply, and the
    realistic questions hold one such message, whose questions fail the meaning gate anyway."""
    assert _reason(cache, message).startswith("several questions of different intents: voa_cost, npwp_tax_id")
    assert _served(cache, message, "en" if "how" in message else "it") is None


def test_a_comparison_or_a_recommendation_is_left_to_the_responder_unless_the_answer_compares(cache):
    assert _served(cache, "tourist sim vs normal sim?", "en") is None
    assert _reason(cache, "tourist sim vs normal sim?") == "no intent's terms"
    assert _served(cache, "sim locale: meglio telkomsel o xl?", "it") is None
    assert _served(cache, "apa bedanya NPWP pribadi dan NPWP badan?", "id") is None
    # Which provider to go to is a recommendation too: no answer names hospitals, clinics, schools, agents or insurers.
    for message, lang in [
        ("which hospital in bali takes international insurance directly?", "en"),
        ("RS mana yg terima asuransi internasional langsung?", "id"),
        ("quale ospedale accetta l'assicurazione internazionale?", "it"),
    ]:
        assert _served(cache, message, lang) is None
        assert {"insurance", "preference"} <= cache._snapshot.matcher.finder.groups(message)
    assert _served(cache, "what's the difference between leasehold and freehold?", "en") == "foreigner_property"
    assert _served(cache, "is the tourist levy the same as the voa, or is it levy vs voa?", "en") == "levy_vs_voa"


def test_match_with_one_vector_for_several_questions_is_refused(cache, embedder):
    matcher = cache._snapshot.matcher
    message = "berapa biaya voa? harga voa berapa?"
    assert matcher.match(message, embedder.embed([message])[0]).intent is None
    assert matcher.match(message, embedder.embed(list(matcher.questions(message)))).intent == "voa_cost"


@pytest.mark.parametrize(
    "message, lang, intent",
    [
        ("how many years does a second home visa last?", "en", "kitas_second_home"),
        ("quanti anni devo avere per il kitas pensionati?", "it", "kitas_retirement"),
        ("setelah berapa tahun bisa ajukan KITAP?", "id", "kitap_definition"),
        ("how many years does a hak pakai last?", "en", None),  # the land answer gives no term for it
    ],
)
def test_how_many_years_reaches_only_an_answer_that_gives_them(cache, message, lang, intent):
    assert _served(cache, message, lang) == intent


def test_a_licence_class_named_c1_is_not_the_c1_visa(cache):
    # "C1" alone names the visit visa; "SIM C1" is a motorcycle licence class.
    assert _reason(cache, "berapa biaya SIM C1?") == ""
    assert cache._snapshot.matcher.candidate("berapa biaya SIM C1?")[0] == "driving_licence"
    assert cache._snapshot.matcher.candidate("berapa biaya visa C1?")[0] == "b211a_visa"
