"""The team's cultural-topic catalogue (assets/catalogue/cultural_topics.yaml), validated on load."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jiwa.catalogue import CATALOGUE_DIR
from jiwa.team_yaml import load_team_yaml

TOPICS_PATH = CATALOGUE_DIR / "cultural_topics.yaml"


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    category: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=10)


class TopicCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    facets: tuple[str, ...] = Field(min_length=1)
    topics: tuple[Topic, ...] = Field(min_length=1)
    sha256: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> TopicCatalogue:
        seen: set[str] = set()
        for topic in self.topics:
            if topic.id in seen:
                raise ValueError(f"topic id '{topic.id}' appears twice in the catalogue; ids must be unique")
            seen.add(topic.id)
        return self

    @cached_property
    def categories(self) -> list[str]:
        return sorted({topic.category for topic in self.topics})

    def in_category(self, category: str) -> list[Topic]:
        return [topic for topic in self.topics if topic.category == category]


def load_catalogue(path: Path = TOPICS_PATH) -> TopicCatalogue:
    raw = path.read_bytes()
    spec = load_team_yaml(raw) or {}
    return TopicCatalogue(**spec, sha256=hashlib.sha256(raw).hexdigest())
