"""The profile lookup step: JIWA profiles the pipeline publishes, held in memory until a user is forgotten."""

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from jiwa.conversations.repository import ConversationRepository
from jiwa.profile import Profile, Remembered
from jiwa.store.analyses import profile_rows
from jiwa.store.lance import sql_timestamp
from jiwa.store.schema import PROFILES_TABLE
from serving.published import PublishedTable

log = logging.getLogger(__name__)

# Profiles published by a run that started before the previous refresh may carry an older updated_at.
_REFRESH_OVERLAP = timedelta(hours=1)
_FORGETS_OVERLAP = timedelta(minutes=5)


class ProfileStore:
    """The latest published jiwa_profiles version in memory; lookups never touch the disk or wait for the pipeline."""

    def __init__(self, data_uri: str, budget_chars: int, forgets: ConversationRepository | None = None) -> None:
        self._published = PublishedTable(data_uri, PROFILES_TABLE)
        self._budget = budget_chars
        self._version: int | None = None
        self._rows: dict[tuple[str, str], _Entry] = {}
        self._parsed: dict[tuple[str, str], Profile] = {}
        self._forgotten: dict[tuple[str, str], datetime] = {}
        # Forgets made through other server processes reach this one through the conversation store.
        self._forgets = forgets
        self._forgets_seen: datetime | None = None

    def refresh(self) -> None:
        if self._forgets is not None:
            # Re-read with an overlap: a forget stamped a little earlier may commit after one already seen.
            since = None if self._forgets_seen is None else self._forgets_seen - _FORGETS_OVERLAP
            for tenant, user_id, at in self._forgets.forgotten_since(since):
                self._forget_at((tenant, user_id), at)
                self._forgets_seen = max(at, self._forgets_seen or at)
        table = self._published.newer_than(self._version)
        if table is None:
            return
        rows = dict(self._rows)
        newest = max((entry.updated_at for entry in rows.values()), default=None)
        where = None if newest is None else f"updated_at >= timestamp '{sql_timestamp(newest - _REFRESH_OVERLAP)}'"
        for row in profile_rows(table, where).to_pylist():
            rows[(row["tenant"], row["user_id"])] = _entry(row)
        if len(rows) != table.count_rows():
            # Rows were deleted (a user forgotten through another server process): start from the whole table.
            rows = {(row["tenant"], row["user_id"]): _entry(row) for row in profile_rows(table).to_pylist()}
        self._rows = {user: entry for user, entry in rows.items() if not self._was_forgotten(user, entry.first_seen)}
        self._parsed = {}
        self._version = table.version
        log.info("serving jiwa_profiles version %d (%d profiles)", self._version, len(self._rows))

    def profile(self, tenant: str, user_id: str) -> Profile | None:
        user = (tenant, user_id)
        entry = self._rows.get(user)
        if entry is None or self._was_forgotten(user, entry.first_seen):
            return None
        if user not in self._parsed:
            self._parsed[user] = Profile.model_validate_json(entry.profile_json)
        return self._parsed[user]

    async def lookup(self, tenant: str, user_id: str) -> dict | None:
        """The user's memory as the responder sees it, within the length budget; None for someone new."""
        profile = self.profile(tenant, user_id)
        return prompt_memory(profile, datetime.now(UTC), self._budget) if profile else None

    def stop_serving(self, tenant: str, user_id: str) -> None:
        """Step 1 of jiwa.forgetting: drop the profile now, and never serve one built from evidence older than now."""
        self._forget_at((tenant, user_id), datetime.now(UTC))

    def _forget_at(self, user: tuple[str, str], at: datetime) -> None:
        self._forgotten[user] = max(at, self._forgotten.get(user, at))
        self._rows.pop(user, None)
        self._parsed.pop(user, None)

    def status(self) -> dict:
        if self._version is None:
            return {"loaded": False}
        return {"loaded": True, "version": self._version, "profiles": len(self._rows)}

    def _was_forgotten(self, user: tuple[str, str], first_seen: datetime) -> bool:
        """A profile that draws on conversations from before the user was forgotten must not be served."""
        forgotten_at = self._forgotten.get(user)
        return forgotten_at is not None and first_seen <= forgotten_at


class _Entry(NamedTuple):
    tenant: str
    updated_at: datetime
    first_seen: datetime
    profile_json: str


def _entry(row: dict) -> _Entry:
    return _Entry(row["tenant"], row["updated_at"], row["first_seen"], row["profile"])


def prompt_memory(profile: Profile, now: datetime, budget_chars: int) -> dict:
    """The most useful parts of the profile first; the least useful are dropped until it fits the budget."""
    facts, context = profile.facts, profile.jiwa_context
    last = profile.last_conversation
    candidates = [
        ("returning_user", profile.conversations > 0),
        ("name", _value(facts.name)),
        ("language", _value(facts.language)),
        ("last_conversation", {"when": _ago(last.ended_at, now), "about": last.summary} if last else None),
        ("emotional_state", _value(context.emotional_state)),
        ("emotional_trend", [point.value for point in profile.emotional_history[-3:]] or None),
        ("trust_level", _value(context.trust_level)),
        ("communication_preference", _value(context.communication_preference)),
        ("anxieties", _values(context.anxieties)),
        ("dreams", _values(context.dreams)),
        ("plans", _values(facts.plans)),
        ("interests", _values(facts.interests)),
        ("life_phase", _value(context.life_phase)),
        ("life_situation", _value(context.life_situation)),
        ("cultural_bridge_needed", _values(context.cultural_bridge_needed)),
        ("needs_beyond_questions", _values(context.needs)),
        ("nationality", _value(facts.nationality)),
        ("personality", _value(context.personality)),
        ("relationship_with_us", _value(context.relationship_with_us)),
        ("conversations_so_far", profile.conversations),
    ]
    memory = {key: value for key, value in candidates if value not in (None, [], "")}
    while memory and len(json.dumps(memory, ensure_ascii=False)) > budget_chars:
        memory.popitem()
    return memory


def _value(remembered: Remembered | None) -> str | None:
    return remembered.value if remembered else None


def _values(items: tuple[Remembered, ...]) -> list[str] | None:
    return [item.value for item in items] or None


def _ago(then: datetime, now: datetime) -> str:
    days = (now.date() - then.date()).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"
