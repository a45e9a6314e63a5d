"""The language a message's words are closest to, learnt from the catalogue's own writing in each language: for what
the function words of jiwa.domain.language cannot place."""

from __future__ import annotations

from functools import lru_cache

from jiwa.catalogue.intents import load_intents
from jiwa.domain.language import LANGUAGES, LanguageProfiles


@lru_cache(maxsize=1)
def _catalogue_profiles() -> LanguageProfiles:
    """Profiles from the team's own writing in each language: the catalogue's phrasings, near misses, reference
    answers and welcome-back greetings, the way Jiwa's users and Jiwa itself write about the same things."""
    catalogue = load_intents()
    texts: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    for intent in catalogue.intents.values():
        for by_language in (intent.phrasings, intent.near_misses):
            for lang, phrasings in by_language.items():
                texts.setdefault(lang, []).extend(phrasings)
        for lang, reference in intent.reference.items():
            texts.setdefault(lang, []).append(reference)
    for lang, greetings in catalogue.welcome_back.items():
        texts.setdefault(lang, []).extend(greetings)
    return LanguageProfiles({lang: lang_texts for lang, lang_texts in texts.items() if lang in LANGUAGES})


def closest_language(text: str) -> str | None:
    """The language of LANGUAGES the text's letters are clearly closest to, for a message the function words cannot
    place ("capitale minimo pt pma? 10 miliardi davvero??"); None when that is not clear, or the text is mixed."""
    try:
        profiles = _catalogue_profiles()
    except (OSError, ValueError):  # no catalogue to learn from: nothing is guessed
        return None
    return profiles.closest(text)
