"""The people of `python -m bench.week` and their calendar: the scripted users (bench/data/week_personas.yaml), a
reply as one of them saw it, what a simulated day logged, and the server's clock set to that day."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import yaml

from assets.nightly.days import BALI
from jiwa.catalogue.intents import load_facts
from jiwa.paths import PROJECT_ROOT

DATA = PROJECT_ROOT / "bench" / "data"
STAMP_STEP = timedelta(seconds=20)
RATE_NOISE = 0.05  # a user sometimes rates against what the reply deserved


@dataclass
class Persona:
    id: str
    tenant: str
    name: str
    language: str
    register: str
    preference: str
    situation: str
    visit: float
    days_seen: int = 0


@dataclass
class Turn:
    """One reply as a user saw it, judged."""

    user: str
    tenant: str
    language: str
    kind: str
    source: str
    cache_intent: str | None
    good: bool
    in_language: bool
    cache_wrong: bool
    total_ms: float
    returning: bool
    uses_right: bool = False
    uses_wrong: bool = False
    rating: str | None = None
    markers: int = 0
    question: str = ""
    message: str = ""
    reply: str = ""


@dataclass
class DayLog:
    turns: list[Turn] = field(default_factory=list)
    adversary_replies: list[dict] = field(default_factory=list)
    ratings: int = 0


class SimClock:
    """The server's event stamps: the simulated day, 20 seconds a stamp."""

    def __init__(self) -> None:
        self._now = datetime.now(BALI)
        self._lock = threading.Lock()

    def start(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def __call__(self) -> datetime:
        with self._lock:
            self._now += STAMP_STEP
            return self._now


def round_robin(groups) -> list:
    """One of each group in turn, so that the first few still hold every group."""
    return [item for row in itertools.zip_longest(*groups) for item in row if item is not None]


def load_people(users: int) -> tuple[list[Persona], list[dict]]:
    data = yaml.safe_load((DATA / "week_personas.yaml").read_text(encoding="utf-8"))
    people = [Persona(**entry) for entry in data["users"]]
    # Over (tenant, language), so a small run still has both tenants and all languages.
    groups = defaultdict(list)
    for person in people:
        groups[(person.tenant, person.language)].append(person)
    return round_robin(groups.values())[:users], data["adversaries"]


def expected_values(backlog: dict) -> dict[str, dict[str, str]]:
    """Each fact's value per language, as a good answer quotes it: the team's facts and the backlog's."""
    values = {}
    for fact_id, fact in load_facts().facts.items():
        values[fact_id] = {
            lang: fact.value[lang] if isinstance(fact.value, dict) else fact.value for lang in "en it id".split()
        }
    for item in backlog["intents"]:
        for fact_id, fact in item["decision"].get("facts", {}).items():
            values[fact_id] = {
                lang: fact.get("value_by_language", {}).get(lang) or fact["value"] for lang in ("en", "it", "id")
            }
    return values
