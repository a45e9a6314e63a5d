"""The one rule for the reply language, and the one list of supported languages."""

import pytest

from jiwa.catalogue.languages import closest_language
from jiwa.domain.language import (
    LANGUAGE_NAMES,
    LANGUAGES,
    UNKNOWN,
    LanguageProfiles,
    detect_language,
    reply_language,
    supported,
)


@pytest.mark.parametrize(
    "requested, message, remembered, expected",
    [
        ("it", "What is a KITAS?", "id", "it"),  # the client's explicit choice wins
        ("it-IT", "What is a KITAS?", None, "it"),
        (None, "Berapa biaya KITAS untuk saya?", "it", "id"),  # then the message's own language
        (None, "ok", "it", "it"),  # then what we remember of the user
        (None, "ok", None, None),  # else nothing: the responder mirrors the user
        (
            "fr",
            "Quanto costa il KITAS per me?",
            None,
            "fr",
        ),  # an explicit choice stands, even one without cached answers
    ],
)
def test_reply_language(requested, message, remembered, expected):
    assert reply_language(requested, message, remembered) == expected


def test_supported_languages_have_names_and_nothing_else_is_supported():
    assert set(LANGUAGE_NAMES) == set(LANGUAGES) == {"en", "it", "id"}
    assert supported("ID") == "id" and supported("de") is None and supported(None) is None


@pytest.mark.parametrize(
    "message, expected",
    [
        ("KITAS istri brp lama?", "id"),
        ("npwp gmn caranya", "id"),
        ("kitas suami udah bisa diperpanjang?", "id"),
        ("e voa quanto?", "it"),
        ("quanto costa kitas x mia moglie", "it"),
        ("kitas for wife how long", "en"),
        ("voa extend pls", "en"),
        ("buonasera", "it"),  # a greeting or goodbye alone, as the realistic sets have them
        ("cheers mate", "en"),
        ("ok dadah", "id"),
        ("differenza tra bpjs kesehatan e ketenagakerjaan", "it"),  # Italian words around the programmes' names
    ],
)
def test_short_informal_messages_built_around_an_acronym_are_placed(message, expected):
    assert reply_language(None, message) == expected


def test_a_message_nothing_places_takes_the_conversations_language_before_the_remembered_one():
    assert reply_language(None, "KITAS?", remembered="en", conversation="id") == "id"
    assert reply_language(None, "KITAS?", remembered="it") == "it"
    assert reply_language(None, "KITAS?") is None


@pytest.mark.parametrize(
    "message, expected",
    [
        ("capitale minimo pt pma? 10 miliardi davvero??", "it"),
        ("bye, talk tmrw", "en"),
        ("KITAS istri brp lama?", "id"),
        ("oke dah, bye", "id"),
        ("visto digital nomad, esiste in indonesia?", "it"),
    ],
)
def test_a_message_the_function_words_cannot_place_takes_the_language_its_words_are_closest_to(message, expected):
    assert reply_language(None, message, closest=closest_language) == expected


@pytest.mark.parametrize(
    "message",
    [
        "ok",  # too little to tell
        "KITAS?",
        "kitas voa npwp",  # names alone are in every language
        "grazie makasih",  # a word of each of two languages: mixed
    ],
)
def test_a_message_nothing_places_stays_unplaced_rather_than_guessed(message):
    assert detect_language(message) == UNKNOWN
    assert closest_language(message) is None
    assert reply_language(None, message, closest=closest_language) is None


def test_the_conversation_and_the_profile_come_before_the_closest_language():
    message = "capitale minimo pt pma? 10 miliardi davvero??"
    assert reply_language(None, message, conversation="en", closest=closest_language) == "en"
    assert reply_language(None, message, remembered="id", closest=closest_language) == "id"
    assert reply_language(None, message) is None  # without a way to place it, nothing is guessed


def test_profiles_refuse_a_close_call_and_a_mixed_text():
    profiles = LanguageProfiles({"en": ["the house is there"], "it": ["la casa è qui, della città"]})
    assert profiles.closest("della casa della città qui") == "it"
    assert profiles.closest("the") is None  # too few letters to decide
    assert profiles.closest("there the house della città") is None
