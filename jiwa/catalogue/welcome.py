"""The team's welcome-back greetings (assets/catalogue/welcome_back.yaml), validated on load, and when the last
conversation was, in words of each language."""

from __future__ import annotations

import re
from pathlib import Path

from jiwa.catalogue import CATALOGUE_DIR
from jiwa.domain.language import LANGUAGES
from jiwa.team_yaml import load_team_yaml

WELCOME_BACK_PATH = CATALOGUE_DIR / "welcome_back.yaml"
# The intent whose answer a returning user gets in its welcome-back form.
GREETING_INTENT = "greeting"
MIN_VARIANTS = 5
PLACEHOLDERS = frozenset({"name", "last_chat"})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

_TODAY = {"en": "earlier today", "it": "oggi", "id": "tadi"}
_YESTERDAY = {"en": "yesterday", "it": "ieri", "id": "kemarin"}
_DAYS_AGO = {"en": "{days} days ago", "it": "{days} giorni fa", "id": "{days} hari yang lalu"}


def load_welcome_back(path: Path = WELCOME_BACK_PATH) -> dict[str, tuple[str, ...]]:
    data = load_team_yaml(path.read_text()) or {}
    if set(data) != set(LANGUAGES):
        raise ValueError(f"{path.name} must give greetings in exactly {', '.join(LANGUAGES)}; it gives {sorted(data)}")
    for language, variants in data.items():
        if not isinstance(variants, list) or len(variants) < MIN_VARIANTS:
            raise ValueError(f"{path.name}: write at least {MIN_VARIANTS} greetings in '{language}'")
        for text in variants:
            unknown = set(_PLACEHOLDER.findall(text)) - PLACEHOLDERS
            if unknown:
                raise ValueError(f"{path.name}: unknown placeholder(s) {sorted(unknown)} in {text!r}")
    return {language: tuple(variants) for language, variants in data.items()}


def days_ago(days: int, language: str) -> str:
    if days <= 0:
        return _TODAY[language]
    if days == 1:
        return _YESTERDAY[language]
    return _DAYS_AGO[language].format(days=days)
