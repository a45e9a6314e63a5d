"""What of a user's profile grounds a reply, each value with how sure Jiwa is of it now and how old it is.

A guess from one turn must not read as certainty, nor a worry from months ago shape today's reply. Transient states
(how the user felt, what worried them, what they needed, how far they trusted us) fade: their confidence halves
every JIWA_MEMORY_HALF_LIFE_DAYS, and they leave the block below JIWA_MEMORY_CONFIDENCE_FLOOR or past
JIWA_MEMORY_TRANSIENT_MAX_DAYS (points of the emotional trend past that age too). Everything else (name, language,
nationality, plans, interests, dreams, life situation, ...) stays until contradicted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from jiwa.domain.profile import Profile, Remembered, field_kinds
from jiwa.settings import Settings

TRANSIENT = frozenset({"emotional_state", "trust_level", "anxieties", "needs"})
# Profile fields whose key in the memory block differs from their name.
BLOCK_KEYS = {"needs": "needs_beyond_questions"}
_KINDS = field_kinds()
_IS_LIST = {field: is_list for field, (_, is_list) in _KINDS.items()}


@dataclass(frozen=True)
class Fading:
    half_life_days: float = 14.0
    floor: float = 0.25
    max_days: float = 45.0

    @classmethod
    def of(cls, settings: Settings) -> Fading:
        return cls(settings.memory_half_life_days, settings.memory_confidence_floor, settings.memory_transient_max_days)

    def confidence(self, confidence: float, age_days: float) -> float:
        return confidence * 0.5 ** (max(age_days, 0.0) / self.half_life_days)

    def keeps(self, confidence: float, age_days: float) -> bool:
        return age_days <= self.max_days and self.confidence(confidence, age_days) >= self.floor


@dataclass(frozen=True)
class Recall:
    """One remembered value as of now."""

    field: str
    item: Remembered
    confidence: float  # after fading; the stored confidence for what does not fade
    age_days: float
    in_use: bool  # not faded out of the block


def recall(field: str, item: Remembered, now: datetime, fading: Fading) -> Recall:
    age = _days(now, item.updated_at)
    if field not in TRANSIENT:
        return Recall(field, item, item.confidence, age, True)
    return Recall(field, item, fading.confidence(item.confidence, age), age, fading.keeps(item.confidence, age))


def recalled(profile: Profile, now: datetime, fading: Fading) -> list[Recall]:
    """Every remembered value of the profile, in the profile's field order, list values one by one."""
    recalls: list[Recall] = []
    for field, (section, is_list) in _KINDS.items():
        value = getattr(getattr(profile, section), field)
        items = value if is_list else (value,) if value is not None else ()
        recalls.extend(recall(field, item, now, fading) for item in items)
    return recalls


class Memory(dict):
    """The memory by key as the reply code reads it (plain values: name, language, emotional_state, ...); `block` is
    the same memory as the responder's data block shows it, each remembered value with its confidence and age."""

    def __init__(self, plain: dict, block: dict) -> None:
        super().__init__(plain)
        self.block = block


def prompt_memory(profile: Profile, now: datetime, budget_chars: int, fading: Fading | None = None) -> Memory:
    """The most useful parts of the profile first; the least useful are dropped until the block fits the budget."""
    plain, block = {}, {}
    for key, plain_value, block_value in _entries(profile, now, fading or Fading()):
        if plain_value not in (None, [], ""):
            plain[key], block[key] = plain_value, block_value
    while block and len(json.dumps(block, ensure_ascii=False)) > budget_chars:
        key, _ = block.popitem()
        plain.pop(key)
    return Memory(plain, block)


def _entries(profile: Profile, now: datetime, fading: Fading) -> list[tuple[str, object, object]]:
    """(block key, plain value, value as the block shows it), most useful first."""
    in_use: dict[str, list[Recall]] = {}
    for item in recalled(profile, now, fading):
        if item.in_use:
            in_use.setdefault(item.field, []).append(item)

    def remembered(field: str) -> tuple[str, object, object]:
        items, key = in_use.get(field, []), BLOCK_KEYS.get(field, field)
        if _IS_LIST[field]:
            return key, [r.item.value for r in items], [_shown(r, now) for r in items]
        return (key, items[0].item.value, _shown(items[0], now)) if items else (key, None, None)

    def same(key: str, value: object) -> tuple[str, object, object]:
        return key, value, value

    last = profile.last_conversation
    trend = [p for p in profile.emotional_history[-3:] if _days(now, p.at) <= fading.max_days]
    return [
        same("returning_user", profile.conversations > 0),
        remembered("name"),
        remembered("language"),
        same("last_conversation", {"when": ago(last.ended_at, now), "about": last.summary} if last else None),
        remembered("emotional_state"),
        ("emotional_trend", [p.value for p in trend], [{"value": p.value, "seen": ago(p.at, now)} for p in trend]),
        remembered("trust_level"),
        remembered("communication_preference"),
        remembered("anxieties"),
        remembered("dreams"),
        remembered("plans"),
        remembered("interests"),
        remembered("life_phase"),
        remembered("life_situation"),
        remembered("cultural_bridge_needed"),
        remembered("needs"),
        remembered("nationality"),
        remembered("personality"),
        remembered("relationship_with_us"),
        same("conversations_so_far", profile.conversations),
    ]


def _shown(item: Recall, now: datetime) -> dict:
    shown = {"value": item.item.value, "confidence": round(item.confidence, 2), "seen": ago(item.item.updated_at, now)}
    if item.item.corrected_at is not None:
        shown["corrected_by_user"] = True
    return shown


def ago(then: datetime, now: datetime) -> str:
    days = (now.date() - then.date()).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"


def _days(now: datetime, then: datetime) -> float:
    return (now - then).total_seconds() / 86400
