"""From logged turns to analysis rows: transcripts, grounding the model's claims in what the user wrote, records."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from assets.signals import Signals
from jiwa.llm.outputs import ConversationAnalysis

_CLAIM_LISTS = ("cultural_signals", "dreams", "anxieties", "needs_beyond_question")
_CLAIM_SCALARS = (
    "emotional_state", "personality", "communication_style", "relationship_phase", "trust_level", "life_phase",
    "life_situation",
)
# Facts the person states about themselves must be words they wrote, not the model's guess.
_LITERAL_FACTS = ("name", "nationality")


@dataclass(frozen=True)
class Turn:
    number: int
    role: str
    content: str
    created_at: datetime
    message_id: str | None = None


@dataclass(frozen=True)
class Transcript:
    conversation_id: str
    tenant: str
    user_id: str
    turns: tuple[Turn, ...]
    last_event_at: datetime

    @classmethod
    def from_events(cls, events: list[dict]) -> Transcript:
        """Events of one conversation (turn and end rows of the log), in any order."""
        ordered = sorted(events, key=lambda e: (e["created_at"], e["event_id"]))
        first = ordered[0]
        turns = [e for e in ordered if e["type"] == "turn"]
        return cls(
            conversation_id=first["conversation_id"],
            tenant=first["tenant"],
            user_id=first["user_id"],
            turns=tuple(
                Turn(i, e["role"], e["content"] or "", e["created_at"], e.get("message_id")) for i, e in enumerate(turns, start=1)
            ),
            last_event_at=ordered[-1]["created_at"],
        )

    @property
    def fingerprint(self) -> str:
        """Changes exactly when the conversation gains (or loses) a turn."""
        digest = hashlib.sha256()
        for turn in self.turns:
            digest.update(f"{turn.number}:{turn.role}:{turn.created_at.isoformat()}:{turn.content}\n".encode())
        return digest.hexdigest()[:24]

    @property
    def user_turns(self) -> dict[int, str]:
        return {turn.number: turn.content for turn in self.turns if turn.role == "user"}

    def render(self, max_chars: int, notes: dict[str, str] | None = None) -> str:
        """Numbered turns, newest kept when it is too long; the text cannot close the tag around it.

        notes: text to show after a turn, by message id (e.g. the user's rating of a reply).
        """
        lines: list[str] = []
        used = 0
        for turn in reversed(self.turns):
            text = _neutral(turn.content)
            note = (notes or {}).get(turn.message_id or "")
            line = f"T{turn.number} {turn.role}: {text}" + (f" [{_neutral(note)}]" if note else "")
            if used + len(line) > max_chars:
                if not lines:
                    lines.append(line[:max_chars])
                break
            lines.append(line)
            used += len(line) + 1
        return "\n".join(reversed(lines))


def _neutral(text: str) -> str:
    return " ".join(text.split()).replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")")


def ground(analysis: ConversationAnalysis, transcript: Transcript) -> tuple[dict, int]:
    """Keep only claims whose evidence names user turns (and, for stated facts, quotes them); count what is dropped."""
    user_turns = transcript.user_turns
    dropped = 0

    def keep(claim: dict | None, literal: bool = False) -> dict | None:
        nonlocal dropped
        if claim is None:
            return None
        evidence = sorted({number for number in claim["evidence"] if number in user_turns})
        if not evidence or (literal and not _quoted(claim["value"], [user_turns[n] for n in evidence])):
            dropped += 1
            return None
        return {"value": claim["value"], "evidence": evidence}

    def keep_all(claims: list[dict]) -> list[dict]:
        seen, kept = set(), []
        for claim in claims:
            grounded = keep(claim)
            key = grounded and grounded["value"].casefold()
            if grounded and key not in seen:
                seen.add(key)
                kept.append(grounded)
        return kept

    raw = analysis.model_dump()
    summary = raw["summary"]
    if not _reads_as_prose(summary):
        summary, dropped = None, dropped + 1
    grounded = {"summary": summary, "emotional_trajectory": raw["emotional_trajectory"]}
    for field in _CLAIM_SCALARS:
        grounded[field] = keep(raw[field])
    for field in _CLAIM_LISTS:
        grounded[field] = keep_all(raw[field])
    facts = raw["facts"]
    grounded["facts"] = {
        **{field: keep(facts[field], literal=True) for field in _LITERAL_FACTS},
        "interests": keep_all(facts["interests"]),
        "plans": keep_all(facts["plans"]),
    }
    return grounded, dropped


def _reads_as_prose(text: str) -> bool:
    """The summary reaches the responder's prompt; a small model's fragments of JSON or lists must not."""
    return bool(text) and text[0].isalpha() and "\n" not in text and not any(mark in text for mark in ("{", "}", "[", "]"))


def _quoted(value: str, texts: list[str]) -> bool:
    words = [word for word in re.findall(r"\w+", value.casefold()) if len(word) >= 3]
    haystack = " ".join(texts).casefold()
    # A prefix, so "Italian" is found in "sono italiana".
    return bool(words) and all(word[:5] in haystack for word in words)


def claims_cite_user_turns(analysis: dict, transcript: Transcript) -> bool:
    """Independent re-check for the asset check: every kept claim cites only user turns."""
    user_turns = set(transcript.user_turns)
    claims = [analysis.get(field) for field in _CLAIM_SCALARS]
    claims += [claim for field in _CLAIM_LISTS for claim in analysis.get(field) or []]
    facts = analysis.get("facts") or {}
    claims += [facts.get(field) for field in _LITERAL_FACTS]
    claims += [claim for field in ("interests", "plans") for claim in facts.get(field) or []]
    return all(set(claim["evidence"]) <= user_turns and claim["evidence"] for claim in claims if claim)


def signals_json(signals: Signals) -> str:
    return json.dumps(
        {"markers": signals.markers, "marker_categories": signals.marker_categories, "languages": signals.languages},
        ensure_ascii=False,
        sort_keys=True,
    )


def analysis_record(
    transcript: Transcript,
    signals: Signals,
    grounded: dict | None,
    *,
    dropped_claims: int,
    attempts: int,
    analysed_at: datetime,
    model: str,
    prompt_version: str,
    run_id: str,
    error: str | None = None,
) -> dict:
    return {
        "id": transcript.conversation_id,
        "tenant": transcript.tenant,
        "user_id": transcript.user_id,
        "fingerprint": transcript.fingerprint,
        "status": "ok" if grounded is not None else "failed",
        "attempts": attempts,
        "turns": len(transcript.turns),
        "started_at": transcript.turns[0].created_at if transcript.turns else transcript.last_event_at,
        "ended_at": transcript.last_event_at,
        "analysed_at": analysed_at,
        "primary_language": signals.primary_language,
        "signals": signals_json(signals),
        "analysis": json.dumps(grounded, ensure_ascii=False, sort_keys=True) if grounded is not None else None,
        "dropped_claims": dropped_claims,
        "error": error,
        "model": model,
        "prompt_version": prompt_version,
        "run_id": run_id,
    }
