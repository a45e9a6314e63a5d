"""Folding conversation analyses, and the user's corrections, into a JIWA profile.

A profile is a pure function of the user's analyses and corrections: the latest analysis of each conversation,
folded in order of when the conversation ended, each correction at its time. So the order in which analyses arrive,
or a repeated analysis, changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from jiwa.domain.analysis import AnalysedConversation
from jiwa.domain.profile import (
    MAX_HISTORY,
    MAX_LIST_ITEMS,
    MAX_SOURCES,
    Correction,
    HistoryPoint,
    JiwaContext,
    LastConversation,
    Profile,
    ProfileFacts,
    Remembered,
    normalized,
)
from jiwa.enrichment.corrections import STATED_FIELDS, CorrectionGuard, apply_correction, in_order

# analysis field -> profile field, for single-valued claims and for list claims.
_CONTEXT_SCALARS = {
    "personality": "personality",
    "emotional_state": "emotional_state",
    "trust_level": "trust_level",
    "communication_style": "communication_preference",
    "life_phase": "life_phase",
    "life_situation": "life_situation",
    "relationship_phase": "relationship_with_us",
}
_CONTEXT_LISTS = {
    "dreams": "dreams",
    "anxieties": "anxieties",
    "cultural_signals": "cultural_bridge_needed",
    "needs_beyond_question": "needs",
}


def claim_confidence(evidence: list[int]) -> float:
    """More supporting turns, more confidence; one conversation alone never reaches certainty."""
    return round(0.4 + 0.15 * min(len(evidence), 3), 4)


def latest_per_conversation(items: list[AnalysedConversation]) -> list[AnalysedConversation]:
    """The newest analysis of each conversation, oldest conversation first."""
    latest: dict[str, AnalysedConversation] = {}
    for item in items:
        current = latest.get(item.conversation_id)
        if current is None or item.order_key > current.order_key:
            latest[item.conversation_id] = item
    return sorted(latest.values(), key=lambda item: item.order_key)


def sources_fingerprint(items: list[AnalysedConversation], corrections: Iterable[Correction] = ()) -> str:
    digest = hashlib.sha256()
    for item in latest_per_conversation(items):
        digest.update(f"{item.conversation_id}:{item.fingerprint}\n".encode())
    for correction in in_order(corrections):
        digest.update(f"{correction.event_id}\n".encode())
    return digest.hexdigest()[:24]


def build_profile(
    user_id: str, tenant: str, items: list[AnalysedConversation], corrections: Iterable[Correction] = ()
) -> Profile:
    """Analyses and corrections folded in the order they happened: a correction outranks what came before it."""
    # (when, analyses before corrections of the same instant, a tiebreak), then the step itself.
    steps: list[tuple[tuple[datetime, int, tuple], AnalysedConversation | Correction]] = [
        ((item.ended_at, 0, item.order_key), item) for item in latest_per_conversation(items)
    ]
    steps += [((correction.at, 1, (correction.event_id,)), correction) for correction in in_order(corrections)]
    profile = Profile(user_id=user_id, tenant=tenant)
    for _, step in sorted(steps, key=lambda pair: pair[0]):
        profile = apply_correction(profile, step) if isinstance(step, Correction) else merge(profile, step)
    return profile


def merge(profile: Profile, item: AnalysedConversation) -> Profile:
    """Fold one conversation's analysis into the profile; newer evidence replaces a value, agreement raises confidence."""
    analysis, at, source = item.analysis, item.ended_at, item.conversation_id
    facts = profile.facts.model_dump()
    context = profile.jiwa_context.model_dump()
    stated = analysis.get("facts") or {}
    guard = CorrectionGuard(profile.corrections)

    def allowed(field: str, claims: list[dict | None]) -> list[dict]:
        return [c for c in claims if c and guard.allows(field, c["value"], stated=field in STATED_FIELDS)]

    for field in ("name", "nationality"):
        for claim in allowed(field, [stated.get(field)]):
            facts[field] = _remember(
                getattr(profile.facts, field), claim["value"], at, source, claim_confidence(claim["evidence"]), claim
            )
    if item.primary_language and guard.allows("language", item.primary_language, stated=False):
        share = item.languages.get(item.primary_language, 0) / max(1, sum(item.languages.values()))
        facts["language"] = _remember(
            profile.facts.language, item.primary_language, at, source, round(0.5 + 0.4 * share, 4)
        )
    for field in ("interests", "plans"):
        facts[field] = _remember_all(getattr(profile.facts, field), allowed(field, stated.get(field) or []), at, source)

    for analysis_field, profile_field in _CONTEXT_SCALARS.items():
        for claim in allowed(profile_field, [analysis.get(analysis_field)]):
            context[profile_field] = _remember(
                getattr(profile.jiwa_context, profile_field),
                claim["value"],
                at,
                source,
                claim_confidence(claim["evidence"]),
                claim,
            )
    for analysis_field, profile_field in _CONTEXT_LISTS.items():
        context[profile_field] = _remember_all(
            getattr(profile.jiwa_context, profile_field),
            allowed(profile_field, analysis.get(analysis_field) or []),
            at,
            source,
        )

    emotional, trust = analysis.get("emotional_state"), analysis.get("trust_level")
    summary = analysis.get("summary")
    last = profile.last_conversation
    if summary and (last is None or (at, source) >= (last.ended_at, last.conversation_id)):
        last = LastConversation(conversation_id=source, ended_at=at, summary=summary[:280])
    return Profile(
        user_id=profile.user_id,
        tenant=profile.tenant,
        conversations=profile.conversations + 1,
        first_seen=min(filter(None, (profile.first_seen, at))),
        last_seen=max(filter(None, (profile.last_seen, at))),
        last_conversation=last,
        facts=ProfileFacts(**facts),
        jiwa_context=JiwaContext(**context),
        emotional_history=_append_history(profile.emotional_history, emotional, at, source),
        trust_history=_append_history(profile.trust_history, trust, at, source),
        cultural_markers=_add_counts(profile.cultural_markers, item.markers),
        languages=_add_counts(profile.languages, item.languages),
        corrections=guard.in_force,
        corrections_through=profile.corrections_through,
    )


def _remember(
    current: Remembered | None, value: str, at: datetime, source: str, confidence: float, claim: dict | None = None
) -> Remembered:
    value = value[:120]
    turns = {source: tuple(claim["evidence"])} if claim and claim.get("evidence") else {}
    if current is not None and normalized(current.value) == normalized(value):
        sources = _add_source(current.sources, source)
        return Remembered(
            value=value if at >= current.updated_at else current.value,
            updated_at=max(at, current.updated_at),
            first_seen=min(at, current.first_seen),
            confidence=round(1 - (1 - current.confidence) * (1 - confidence), 4),
            sources=sources,
            turns={s: t for s, t in {**current.turns, **turns}.items() if s in sources},
            corrected_at=current.corrected_at,
        )
    if current is not None and at < current.updated_at:
        return current  # older evidence never overrides newer
    return Remembered(value=value, updated_at=at, first_seen=at, confidence=confidence, sources=(source,), turns=turns)


def _remember_all(
    current: tuple[Remembered, ...], claims: list[dict], at: datetime, source: str
) -> tuple[Remembered, ...]:
    by_key = {normalized(item.value): item for item in current}
    for claim in claims:
        key = normalized(claim["value"])
        by_key[key] = _remember(by_key.get(key), claim["value"], at, source, claim_confidence(claim["evidence"]), claim)
    # What the user set themselves is kept first, so newer inferences do not push it out of the bounded list.
    newest_first = sorted(
        by_key.values(),
        key=lambda item: (item.corrected_at is None, -item.updated_at.timestamp(), normalized(item.value)),
    )
    return tuple(newest_first[:MAX_LIST_ITEMS])


def _add_source(sources: tuple[str, ...], source: str) -> tuple[str, ...]:
    kept = tuple(s for s in sources if s != source) + (source,)
    return kept[-MAX_SOURCES:]


def _append_history(
    history: tuple[HistoryPoint, ...], claim: dict | None, at: datetime, source: str
) -> tuple[HistoryPoint, ...]:
    if not claim:
        return history
    points = [point for point in history if point.conversation_id != source]
    points.append(HistoryPoint(value=claim["value"], at=at, conversation_id=source))
    points.sort(key=lambda point: (point.at, point.conversation_id))
    return tuple(points[-MAX_HISTORY:])


def _add_counts(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    counts = Counter(total)
    counts.update(more)
    return dict(sorted(counts.items()))
