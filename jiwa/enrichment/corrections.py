"""The user's corrections of their memory, and how they outrank what conversations infer.

A correction is a CORRECTION event in the conversation store, its content a JSON object {field, value, action}.
It applies at once, and then stands against every later inference of the same field until the user states
otherwise: a stated fact (name, nationality, interests, plans: the analysis keeps these only when they quote the
user's own turns) of a different value, or of a value they had removed. What the analysis infers (emotional state,
anxieties, trust, ...) and the detected language never overrule a correction; another correction does.

- set, one-valued field: the value, with full confidence; inferences of other values are ignored.
- set, list field: the value joins the list, with full confidence; the rest of the list is untouched.
- remove: the value goes (without a value, the whole field), and later inferences of it are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from jiwa.conversations.events import LogEvent
from jiwa.domain.profile import (
    MAX_CORRECTIONS,
    MAX_LIST_ITEMS,
    Correction,
    Profile,
    Remembered,
    field_kinds,
    normalized,
)

# Fields the analysis carries as the user's own statements (its `facts`).
STATED_FIELDS = frozenset({"name", "nationality", "interests", "plans"})
FIELD_KINDS = field_kinds()


def correction_content(field: str, action: str, value: str | None) -> str:
    return json.dumps({"field": field, "value": value, "action": action}, ensure_ascii=False)


def correction_of(event: LogEvent) -> Correction:
    content = json.loads(event.content or "{}")
    return Correction(
        event_id=event.event_id,
        at=event.created_at,
        field=content["field"],
        action=content["action"],
        value=content.get("value"),
    )


def corrections_by_user(events: Iterable[LogEvent]) -> dict[tuple[str, str], list[Correction]]:
    """The correction events of each (tenant, user_id); one naming a field the profile no longer has is ignored."""
    grouped: dict[tuple[str, str], list[Correction]] = {}
    for event in events:
        correction = correction_of(event)
        if correction.field in FIELD_KINDS:
            grouped.setdefault((event.tenant, event.user_id), []).append(correction)
    return grouped


def in_order(corrections: Iterable[Correction]) -> list[Correction]:
    """Each correction once, oldest first; ties by event id, so any arrival order folds the same."""
    return sorted({c.event_id: c for c in corrections}.values(), key=lambda c: (c.at, c.event_id))


def apply_correction(profile: Profile, correction: Correction) -> Profile:
    """The profile with this correction applied and recorded as in force."""
    through = profile.corrections_through
    if (through is not None and correction.at < through) or correction in profile.corrections:
        return profile
    section, is_list = FIELD_KINDS[correction.field]
    values = getattr(profile, section).model_dump()
    current = getattr(getattr(profile, section), correction.field)
    if correction.action == "set":
        stated = Remembered(
            value=correction.value,
            updated_at=correction.at,
            first_seen=correction.at,
            confidence=1.0,
            sources=(),
            corrected_at=correction.at,
        )
        values[correction.field] = (
            (stated, *_without(current, correction.value))[:MAX_LIST_ITEMS] if is_list else stated
        )
    elif is_list:
        values[correction.field] = _without(current, correction.value) if correction.value is not None else ()
    elif correction.value is None or (current is not None and _same(current.value, correction.value)):
        values[correction.field] = None
    # Only the newest correction of a one-valued field counts; of a list, the newest of each value.
    key = _key(correction)
    kept = tuple(c for c in profile.corrections if _key(c) != key) + (correction,)
    return profile.model_copy(
        update={
            section: type(getattr(profile, section))(**values),
            "corrections": kept[-MAX_CORRECTIONS:],
            "corrections_through": correction.at,
        }
    )


class CorrectionGuard:
    """Asked by the merge before it folds an inferred or stated value; it lifts the corrections the user overruled."""

    def __init__(self, corrections: tuple[Correction, ...]) -> None:
        self.in_force = corrections

    def allows(self, field: str, value: str, *, stated: bool) -> bool:
        mine = [c for c in self.in_force if c.field == field]
        if not mine:
            return True
        _, is_list = FIELD_KINDS[field]
        if is_list:
            blocking = [c for c in mine if c.action == "remove" and (c.value is None or _same(c.value, value))]
        else:
            latest = mine[-1]
            agrees = latest.action == "set" and _same(latest.value, value)
            removed_other = latest.action == "remove" and latest.value is not None and not _same(latest.value, value)
            blocking = [] if agrees or removed_other else [latest]
        if not blocking:
            return True
        if not stated:
            return False
        self.in_force = tuple(c for c in self.in_force if c not in blocking)
        return True


def _without(items: tuple[Remembered, ...], value: str | None) -> tuple[Remembered, ...]:
    return tuple(item for item in items if value is None or not _same(item.value, value))


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and normalized(a) == normalized(b)


def _key(correction: Correction) -> tuple:
    _, is_list = FIELD_KINDS[correction.field]
    return (correction.field, normalized(correction.value or "")) if is_list else (correction.field,)
