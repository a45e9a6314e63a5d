"""The cache lookup step: pre-written answers to common intents, personalised without a model call."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from jiwa.catalogue.intents import placeholders
from jiwa.catalogue.matching import IntentMatcher, MatcherSpec
from jiwa.catalogue.welcome import GREETING_INTENT, days_ago
from jiwa.domain.status import CACHE_ANSWER, CACHE_FACT, CACHE_NEAR_MISS, CACHE_PHRASING, CACHE_SPEC, RETURNING_STYLE
from jiwa.embedding import Embedder
from jiwa.response_cache.followups import leans_on_context, left_to_the_responder
from jiwa.store.schema import RESPONSE_CACHE_TABLE
from serving.insights import QueryEmbedder
from serving.published import PublishedTable
from serving.withheld import Withheld

log = logging.getLogger(__name__)

REASSURANCE = {
    "en": "Don't worry, this is very doable. ",
    "it": "Tranquillo, si risolve tutto. ",
    "id": "Tenang saja, ini bisa diurus kok. ",
}
_WORRIED = {"anxious", "overwhelmed", "confused", "frustrated", "sad"}
_SOCIAL_INTENTS = {GREETING_INTENT, "thanks"}
_ROTATION_MEMORY = 100_000
# Enough for the facts of the few intents one message can name, few enough to keep the data block small.
MAX_GROUNDING_FACTS = 8


@dataclass(frozen=True)
class ConversationSoFar:
    """What the cache must know of the conversation around a message: earlier turns in it, and for a returning user
    starting a new one, how many days ago their last conversation ended."""

    turns: int = 0
    last_chat_days: int | None = None


NEW_CONVERSATION = ConversationSoFar()


@dataclass(frozen=True)
class CacheHit:
    intent: str
    reply: str
    answer_id: str  # the variant served, so feedback on the reply scores it


@dataclass(frozen=True)
class _Variant:
    id: str
    style: str
    text: str


@dataclass(frozen=True)
class _Snapshot:
    version: int
    matcher: IntentMatcher
    answers: dict[tuple[str, str], list[_Variant]]
    facts: dict[str, dict]
    facts_of_intent: dict[str, frozenset[str]]


class ResponseCache:
    """The latest published common_response_cache version in memory, swapped whole when it changes; a tenant's
    lookups leave out the answers its users' feedback withheld."""

    def __init__(
        self,
        data_uri: str,
        embedder: Embedder,
        queries: QueryEmbedder,
        withheld: Withheld,
        review_date: date | None = None,
    ) -> None:
        self._published = PublishedTable(data_uri, RESPONSE_CACHE_TABLE, embedder)
        self._review_date = review_date
        self._queries = queries
        self._withheld = withheld
        self._snapshot: _Snapshot | None = None
        self._served: OrderedDict[tuple[str, str, str], int] = OrderedDict()

    def refresh(self) -> None:
        table = self._published.newer_than(None)
        if table is None:
            return
        # Feedback is applied per lookup, so only a new version of the cache rebuilds the matcher.
        version = table.version
        if self._snapshot is not None and self._snapshot.version == version:
            return
        rows = table.to_arrow().to_pylist()
        spec = next((row["text"] for row in rows if row["kind"] == CACHE_SPEC), None)
        if spec is None:
            return  # a table created and not yet filled: its next version will have the spec
        phrasings = [row for row in rows if row["kind"] == CACHE_PHRASING]
        answers: dict[tuple[str, str], list[_Variant]] = {}
        for row in sorted((r for r in rows if r["kind"] == CACHE_ANSWER), key=lambda r: r["id"]):
            answers.setdefault((row["intent"], row["language"]), []).append(
                _Variant(row["id"], row["style"], row["text"])
            )
        facts = {row["id"].removeprefix("fact:"): json.loads(row["text"]) for row in rows if row["kind"] == CACHE_FACT}
        facts_of_intent: dict[str, set[str]] = {}
        for row in rows:
            if row["kind"] == CACHE_ANSWER:
                facts_of_intent.setdefault(row["intent"], set()).update(placeholders(row["template"]) & facts.keys())
        near_misses = [row["vector"] for row in rows if row["kind"] == CACHE_NEAR_MISS]
        matcher = IntentMatcher(
            MatcherSpec.from_json(spec),
            [row["intent"] for row in phrasings],
            np.asarray([row["vector"] for row in phrasings], dtype=np.float32).reshape(len(phrasings), -1),
            np.asarray(near_misses, dtype=np.float32).reshape(len(near_misses), -1) if near_misses else None,
        )
        self._snapshot = _Snapshot(
            version, matcher, answers, facts, {intent: frozenset(ids) for intent, ids in facts_of_intent.items()}
        )
        log.info(
            "serving common_response_cache version %d (%d phrasings, %d answers)",
            table.version,
            len(phrasings),
            sum(map(len, answers.values())),
        )

    async def lookup(
        self,
        message: str,
        lang: str,
        profile: dict | None,
        user: tuple[str, str],
        conversation: ConversationSoFar = NEW_CONVERSATION,
    ) -> CacheHit | None:
        """A pre-written answer in `lang` (already decided by jiwa.domain.language.reply_language), or None."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        intent, groups, _ = snapshot.matcher.candidate(message)
        if intent is None:
            return None  # most messages stop here, before any embedding
        if conversation.turns and left_to_the_responder(snapshot.matcher.spec, intent, message):
            return None  # "and for my wife?" asks about what was said before, not what the words alone ask
        if snapshot.matcher.uncovered(intent, message):
            return None  # "do I need a notary for the NIB?" asks a detail the NIB answer does not give
        result = snapshot.matcher.confirm(intent, await self._vectors(snapshot.matcher, message), groups)
        if result.intent is None:
            return None
        if self._intent_overdue(snapshot, result.intent):
            return None  # a figure past its review date goes to Claude, marked with the day it was last checked
        withheld = self._withheld.ids.get(user[0], frozenset())
        variants = [v for v in snapshot.answers.get((result.intent, lang), ()) if v.id not in withheld]
        # A returning user's greeting, in a new conversation, is a welcome back; nobody else's is.
        welcome_back = (
            result.intent == GREETING_INTENT and not conversation.turns and conversation.last_chat_days is not None
        )
        variants = [v for v in variants if (v.style == RETURNING_STYLE) == welcome_back] or [
            v for v in variants if v.style != RETURNING_STYLE
        ]
        if not variants:
            return None
        variant = self._rotate(result.intent, variants, profile or {}, user)
        text = self._personalise(result.intent, lang, variant.text, profile or {})
        if conversation.last_chat_days is not None:
            text = text.replace("{last_chat}", days_ago(conversation.last_chat_days, lang))
        return CacheHit(result.intent, text, variant.id)

    async def _vectors(self, matcher: IntentMatcher, message: str) -> np.ndarray:
        """The message's vector, or one row per question of a message that asks several (embedded in one batch)."""
        questions = matcher.questions(message)
        vectors = await asyncio.gather(*(self._queries.embed(question) for question in questions))
        return vectors[0] if len(vectors) == 1 else np.stack(vectors)

    def facts_for(self, message: str, asked_before: str | None = None) -> list[dict]:
        """The curated facts behind every intent whose required terms the message names, whether or not the cache
        answered it: a near miss ("a KITAS for my wife") still needs the KITAS prices, and Claude quotes only these.
        A follow-up ("e quanto costa quello?") also names what the user asked before it in the conversation."""
        snapshot = self._snapshot
        if snapshot is None or not snapshot.facts:
            return []
        groups = snapshot.matcher.finder.groups(message)
        if asked_before and leans_on_context(message):
            groups |= snapshot.matcher.finder.groups(asked_before)
        named = sorted(
            {
                fact_id
                for rule in snapshot.matcher.spec.rules
                if set(rule.require) <= groups
                for fact_id in snapshot.facts_of_intent.get(rule.intent, ())
            }
        )
        overdue = self._overdue(snapshot, named)
        return [
            snapshot.facts[fact_id] | ({"review_overdue": True} if fact_id in overdue else {})
            for fact_id in named[:MAX_GROUNDING_FACTS]
        ]

    def overdue_facts(self, intent: str) -> set[str]:
        """The facts the intent's answers cite that are past review: while there are any, lookup leaves it to Claude."""
        snapshot = self._snapshot
        return self._intent_overdue(snapshot, intent) if snapshot else set()

    def _intent_overdue(self, snapshot: _Snapshot, intent: str) -> set[str]:
        return self._overdue(snapshot, snapshot.facts_of_intent.get(intent, ()))

    def _overdue(self, snapshot: _Snapshot, fact_ids) -> set[str]:
        """Which of these facts are past the day the team meant to check them again."""
        today = (self._review_date or datetime.now(UTC).date()).isoformat()
        return {fact_id for fact_id in fact_ids if (snapshot.facts[fact_id].get("review_by") or "9999-12-31") < today}

    def status(self) -> dict:
        if self._snapshot is None:
            return {"loaded": False, "error": self._published.error}
        return {
            "loaded": True,
            "version": self._snapshot.version,
            "intents": len({i for i, _ in self._snapshot.answers}),
            # The team's facts past review: their intents are left to Claude until the facts are refreshed.
            "facts_past_review": sorted(self._overdue(self._snapshot, self._snapshot.facts)),
        }

    def _rotate(self, intent: str, variants: list[_Variant], profile: dict, user: tuple[str, str]) -> _Variant:
        preference = profile.get("communication_preference")
        preferred = "long" if preference == "detailed" else "short" if preference == "brief" else None
        pool = [v for v in variants if v.style == preferred] or variants
        # Rotate per user, so someone who comes back is not greeted with the same sentence.
        key = (*user, intent)
        served = self._served.pop(key, 0)
        self._served[key] = served + 1
        if len(self._served) > _ROTATION_MEMORY:
            self._served.popitem(last=False)
        seed = int(hashlib.sha256("\x00".join(user).encode()).hexdigest()[:8], 16)
        seed += int(profile.get("conversations_so_far") or 0)
        return pool[(seed + served) % len(pool)]

    @staticmethod
    def _personalise(intent: str, lang: str, text: str, profile: dict) -> str:
        name = profile.get("name")
        text = text.replace("{name}", f" {name}" if name else "")
        if profile.get("emotional_state") in _WORRIED and intent not in _SOCIAL_INTENTS:
            text = REASSURANCE[lang] + text
        return text
