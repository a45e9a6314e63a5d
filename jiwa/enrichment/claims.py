"""Grounding LLAMA's analysis in what the user wrote: a claim is kept only if it cites user turns of its conversation."""

from __future__ import annotations

import re

from jiwa.domain.analysis import ConversationAnalysis
from jiwa.enrichment.support import EvidenceSupport
from jiwa.enrichment.transcript import Transcript

_CLAIM_LISTS = ("cultural_signals", "dreams", "anxieties", "needs_beyond_question")
_CLAIM_SCALARS = (
    "emotional_state",
    "personality",
    "communication_style",
    "relationship_phase",
    "trust_level",
    "life_phase",
    "life_situation",
)
# Facts the person states about themselves must be words they wrote, not the model's guess.
_LITERAL_FACTS = ("name", "nationality")
# Emotions that the counted distress markers (malu, bingung, "ho paura", ...) rule out.
_CALM_EMOTIONS = frozenset({"calm", "hopeful", "excited", "grateful", "curious"})


def ground(
    analysis: ConversationAnalysis,
    transcript: Transcript,
    *,
    support: EvidenceSupport | None = None,
    distress_markers: int = 0,
) -> tuple[dict, int]:
    """Keep only claims whose evidence names user turns, count what is dropped. Stated facts must quote those turns;
    with `support`, free-text claims and the summary must mean what the user wrote; an emotional state must not
    contradict the distress markers counted by rule."""
    user_turns = transcript.user_turns
    dropped = 0

    def keep(claim: dict | None, literal: bool = False, free_text: bool = False) -> dict | None:
        nonlocal dropped
        if claim is None:
            return None
        evidence = sorted({number for number in claim["evidence"] if number in user_turns})
        cited = [user_turns[n] for n in evidence]
        unsupported = free_text and support is not None and not support.supports(claim["value"], cited)
        if not evidence or (literal and not _quoted(claim["value"], cited)) or unsupported:
            dropped += 1
            return None
        return {"value": claim["value"], "evidence": evidence}

    def keep_all(claims: list[dict]) -> list[dict]:
        seen, kept = set(), []
        for claim in claims:
            grounded = keep(claim, free_text=True)
            key = grounded and grounded["value"].casefold()
            if grounded and key not in seen:
                seen.add(key)
                kept.append(grounded)
        return kept

    raw = analysis.model_dump()
    summary = raw["summary"]
    if not _reads_as_prose(summary) or (support and not support.supports(summary, list(user_turns.values()))):
        summary, dropped = None, dropped + 1
    if distress_markers and raw["emotional_state"] and raw["emotional_state"]["value"] in _CALM_EMOTIONS:
        raw["emotional_state"], dropped = None, dropped + 1
    grounded = {"summary": summary, "emotional_trajectory": raw["emotional_trajectory"]}
    for field in _CLAIM_SCALARS:
        grounded[field] = keep(raw[field], free_text=field == "life_situation")
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
    return (
        bool(text) and text[0].isalpha() and "\n" not in text and not any(mark in text for mark in ("{", "}", "[", "]"))
    )


def _quoted(value: str, texts: list[str]) -> bool:
    """Every word of the value is a word the user wrote, give or take an ending ("Italian" in "sono italiana");
    underscores split words, so "mille_cassetta" is not quoted by "grazie mille"."""
    words = [word for word in re.findall(r"[^\W_]+", value.casefold()) if len(word) >= 3]
    written = set(re.findall(r"[^\W_]+", " ".join(texts).casefold()))
    return bool(words) and all(
        any(other[:5] == word[:5] and abs(len(other) - len(word)) <= 3 for other in written) for word in words
    )


def claims_cite_user_turns(analysis: dict, transcript: Transcript) -> bool:
    """Independent re-check for the asset check: every kept claim cites only user turns."""
    user_turns = set(transcript.user_turns)
    claims = [analysis.get(field) for field in _CLAIM_SCALARS]
    claims += [claim for field in _CLAIM_LISTS for claim in analysis.get(field) or []]
    facts = analysis.get("facts") or {}
    claims += [facts.get(field) for field in _LITERAL_FACTS]
    claims += [claim for field in ("interests", "plans") for claim in facts.get(field) or []]
    return all(set(claim["evidence"]) <= user_turns and claim["evidence"] for claim in claims if claim)
