"""The profile lookup step: JIWA profiles the pipeline publishes, held in memory until a user is forgotten, with the
user's corrections applied on top until the pipeline has folded them in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from jiwa.conversations.repository import ConversationRepository
from jiwa.domain.profile import Correction, Profile
from jiwa.enrichment.corrections import apply_correction, corrections_by_user, in_order
from jiwa.store.analyses import profile_rows
from jiwa.store.lance import sql_timestamp
from jiwa.store.schema import PROFILES_TABLE
from serving.memory import Fading, Memory, prompt_memory
from serving.published import PublishedTable

log = logging.getLogger(__name__)

# Profiles published by a run that started before the previous refresh may carry an older updated_at.
_REFRESH_OVERLAP = timedelta(hours=1)
_FORGETS_OVERLAP = timedelta(minutes=5)


class ProfileStore:
    """The latest published jiwa_profiles version in memory; lookups never touch the disk or wait for the pipeline."""

    def __init__(
        self,
        data_uri: str,
        budget_chars: int,
        forgets: ConversationRepository | None = None,
        fading: Fading | None = None,
    ) -> None:
        self._published = PublishedTable(data_uri, PROFILES_TABLE)
        self._budget = budget_chars
        self.fading = fading or Fading()
        self._version: int | None = None
        self._rows: dict[tuple[str, str], _Entry] = {}
        self._parsed: dict[tuple[str, str], Profile] = {}
        self._forgotten: dict[tuple[str, str], datetime] = {}
        # Forgets made through other server processes reach this one through the conversation store.
        self._forgets = forgets
        self._forgets_seen: datetime | None = None
        # Corrections read from the store (any server process may have taken them), by user, until folded in.
        self._corrections: dict[tuple[str, str], list[Correction]] = {}
        self._corrections_seen: datetime | None = None

    def refresh(self) -> None:
        if self._forgets is not None:
            # Re-read with an overlap: a forget stamped a little earlier may commit after one already seen.
            since = None if self._forgets_seen is None else self._forgets_seen - _FORGETS_OVERLAP
            for tenant, user_id, at in self._forgets.forgotten_since(since):
                self._forget_at((tenant, user_id), at)
                self._forgets_seen = max(at, self._forgets_seen or at)
            self._read_corrections(self._forgets)
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
        if entry is not None and self._was_forgotten(user, entry.first_seen):
            entry = None
        corrections = self._corrections.get(user)
        if entry is None and not corrections:
            return None
        if user not in self._parsed:
            published = Profile.model_validate_json(entry.profile_json) if entry else None
            profile = published or Profile(user_id=user_id, tenant=tenant)
            if corrections and profile.corrections_through is not None:
                # What the pipeline has folded in need not be held any longer.
                corrections = self._corrections[user] = [c for c in corrections if c.at >= profile.corrections_through]
            for correction in corrections or ():
                profile = apply_correction(profile, correction)
            self._parsed[user] = profile
        return self._parsed[user]

    def correct(self, tenant: str, user_id: str, correction: Correction) -> None:
        """Serve a correction the user just made (and stored) at once, before the pipeline folds it in."""
        self._take_corrections({(tenant, user_id): [correction]})

    async def lookup(self, tenant: str, user_id: str) -> Memory | None:
        """The user's memory as the responder sees it, within the length budget; None for someone new."""
        profile = self.profile(tenant, user_id)
        return prompt_memory(profile, datetime.now(UTC), self._budget, self.fading) if profile else None

    def _read_corrections(self, store: ConversationRepository) -> None:
        since = None if self._corrections_seen is None else self._corrections_seen - _FORGETS_OVERLAP
        events = store.corrections_since(since)
        self._corrections_seen = max((e.created_at for e in events), default=self._corrections_seen)
        self._take_corrections(corrections_by_user(events))

    def _take_corrections(self, by_user: dict[tuple[str, str], list[Correction]]) -> None:
        for user, corrections in by_user.items():
            forgotten_at = self._forgotten.get(user)
            fresh = [c for c in corrections if forgotten_at is None or c.at > forgotten_at]
            if fresh:
                self._corrections[user] = in_order([*self._corrections.get(user, []), *fresh])
                self._parsed.pop(user, None)

    def stop_serving(self, tenant: str, user_id: str) -> None:
        """Step 1 of jiwa.forgetting: drop the profile now, and never serve one built from evidence older than now."""
        self._forget_at((tenant, user_id), datetime.now(UTC))

    def _forget_at(self, user: tuple[str, str], at: datetime) -> None:
        self._forgotten[user] = max(at, self._forgotten.get(user, at))
        self._rows.pop(user, None)
        self._parsed.pop(user, None)
        self._corrections.pop(user, None)

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
