"""The team's lexicon of cultural markers (assets/catalogue/cultural_markers.yaml), validated on load."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jiwa.catalogue import CATALOGUE_DIR
from jiwa.team_yaml import load_team_yaml

MARKERS_PATH = CATALOGUE_DIR / "cultural_markers.yaml"


class MarkerCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=5)
    phrases: tuple[str, ...] = Field(min_length=1)


class MarkerLexicon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, MarkerCategory]
    sha256: str = ""

    @model_validator(mode="after")
    def _phrase_in_one_category(self) -> MarkerLexicon:
        owner: dict[str, str] = {}
        for name, category in self.categories.items():
            for phrase in category.phrases:
                key = phrase.lower()
                if key in owner:
                    raise ValueError(
                        f"marker '{phrase}' is in both '{owner[key]}' and '{name}'; keep it in one category"
                    )
                owner[key] = name
        return self

    @property
    def category_of(self) -> dict[str, str]:
        return {phrase.lower(): name for name, category in self.categories.items() for phrase in category.phrases}


@lru_cache(maxsize=1)
def load_lexicon(path: Path = MARKERS_PATH) -> MarkerLexicon:
    raw = path.read_bytes()
    return MarkerLexicon(**(load_team_yaml(raw) or {}), sha256=hashlib.sha256(raw).hexdigest())
