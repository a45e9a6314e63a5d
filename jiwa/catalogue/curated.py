"""The team's curated insights (assets/catalogue/curated_insights/<category>.yaml), validated on load.

They are the knowledge base's floor: served as they are (source "curated"), shown to LLAMA as examples, and the
reference the truth gate holds every generated insight against.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from jiwa.catalogue import CATALOGUE_DIR
from jiwa.catalogue.topics import TopicCatalogue
from jiwa.domain.insights import CulturalInsight
from jiwa.team_yaml import load_team_yaml

CURATED_DIR = CATALOGUE_DIR / "curated_insights"
MIN_PER_TOPIC = 3


class CuratedError(ValueError):
    """A curated file is malformed, names an unknown topic, or leaves a topic with too few insights."""


class CuratedBase(BaseModel):
    model_config = ConfigDict(frozen=True)

    by_topic: dict[str, tuple[CulturalInsight, ...]]
    sha256: str = ""

    def of(self, topic_id: str) -> tuple[CulturalInsight, ...]:
        return self.by_topic.get(topic_id, ())


def curated_files(directory: Path = CURATED_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_curated(catalogue: TopicCatalogue, directory: Path = CURATED_DIR) -> CuratedBase:
    """Every curated file, checked against the topic catalogue: each topic of a file's category, at least MIN_PER_TOPIC."""
    digest = hashlib.sha256()
    by_topic: dict[str, tuple[CulturalInsight, ...]] = {}
    topics = {topic.id: topic for topic in catalogue.topics}
    for path in curated_files(directory):
        raw = path.read_bytes()
        digest.update(raw)
        category = path.stem
        if category not in catalogue.categories:
            raise CuratedError(
                f"{path.name}: '{category}' is not a category of the topic catalogue; name the file after one"
            )
        spec = load_team_yaml(raw) or {}
        for topic_id, entries in spec.items():
            if topic_id not in topics or topics[topic_id].category != category:
                raise CuratedError(f"{path.name}: topic '{topic_id}' is not a {category} topic of the catalogue")
            try:
                by_topic[topic_id] = tuple(CulturalInsight.model_validate(entry) for entry in entries or ())
            except ValidationError as exc:
                raise CuratedError(f"{path.name}: an insight of '{topic_id}' is invalid: {exc}") from exc
    short = [topic.id for topic in catalogue.topics if len(by_topic.get(topic.id, ())) < MIN_PER_TOPIC]
    if short:
        raise CuratedError(f"topics with fewer than {MIN_PER_TOPIC} curated insights: {', '.join(short)}; add them")
    return CuratedBase(by_topic=by_topic, sha256=digest.hexdigest())
