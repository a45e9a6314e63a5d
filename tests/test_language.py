"""The one rule for the reply language, and the one list of supported languages."""

import pytest

from jiwa.domain.language import LANGUAGE_NAMES, LANGUAGES, reply_language, supported


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
    ],
)
def test_short_informal_messages_built_around_an_acronym_are_placed(message, expected):
    assert reply_language(None, message) == expected


def test_a_message_nothing_places_takes_the_conversations_language_before_the_remembered_one():
    assert reply_language(None, "KITAS?", remembered="en", conversation="id") == "id"
    assert reply_language(None, "KITAS?", remembered="it") == "it"
    assert reply_language(None, "KITAS?") is None
