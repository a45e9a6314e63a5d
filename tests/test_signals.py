"""Countable signals are counted by rule: cultural markers from the team's lexicon, and languages."""

import pytest
from pydantic import ValidationError

from jiwa.catalogue.markers import MarkerLexicon, load_lexicon
from jiwa.domain.language import detect_language, language_counts
from jiwa.enrichment.signals import count_signals


def test_markers_are_counted_exactly_longest_phrase_first():
    signals = count_signals(["Permisi Pak, mohon maaf... MAAF ya", "Terima kasih, Bu! maafkan saya"])
    # "mohon maaf" is one marker, not also "maaf"; "maafkan" is another word, not "maaf".
    assert signals.markers == {"bu": 1, "maaf": 1, "mohon maaf": 1, "pak": 1, "permisi": 1, "terima kasih": 1}
    assert signals.marker_categories == {"apology": 2, "courtesy": 2, "honorific": 2}


def test_indirect_refusals_and_distress_in_three_languages():
    signals = count_signals(["Nanti saja ya, saya masih bingung", "Maybe later, I'm overwhelmed", "Vediamo, ho paura"])
    assert signals.marker_categories == {"distress": 3, "indirect_refusal": 3}


def test_languages_are_counted_per_message():
    texts = ["Quanto costa il KITAS per me?", "Berapa biaya KITAS untuk saya?", "How much does a KITAS cost?", "ok"]
    assert [detect_language(t) for t in texts] == ["it", "id", "en", "unknown"]
    assert language_counts(texts) == {"en": 1, "id": 1, "it": 1}
    assert count_signals(texts[:2] + texts[1:2]).primary_language == "id"


def test_a_phrase_in_two_categories_is_a_clear_error():
    with pytest.raises(ValidationError, match="'Maaf' is in both 'apology' and 'courtesy'"):
        MarkerLexicon(
            categories={
                "apology": {"description": "sorry forms", "phrases": ["maaf"]},
                "courtesy": {"description": "polite forms", "phrases": ["Maaf"]},
            }
        )


def test_the_team_lexicon_loads_and_is_versioned():
    lexicon = load_lexicon()
    assert {"courtesy", "honorific", "apology", "indirect_refusal"} <= set(lexicon.categories)
    assert len(lexicon.sha256) == 64
