"""One chat turn: persist the user turn, cache lookup, retrieval and profile lookup, responder, persist the reply.

ChatService speaks the domain (serving/domain.py): it answers with an Answer, streams a ReplyStream, and raises
domain errors; the controllers word them for HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jiwa.catalogue.languages import closest_language
from jiwa.domain.language import reply_language
from jiwa.settings import Settings
from serving.conversations import Conversation, ConversationStore
from serving.domain import Answer, EmptyMessage, MessageTooLong, Question
from serving.grounding import Grounding
from serving.insights import InsightIndex
from serving.metrics import Metrics
from serving.ownership import Ownership
from serving.profiles import ProfileStore
from serving.responder import Reply, Responder
from serving.response_cache import NEW_CONVERSATION, ConversationSoFar, ResponseCache
from serving.schemas import is_blank

log = logging.getLogger(__name__)


@dataclass
class TurnContext:
    conversation: Conversation
    message: str
    history: list[dict]
    grounding: Grounding
    cached: Reply | None
    cache_intent: str | None
    # The language the client gave with the question, stored with the user's turn.
    asked_language: str | None
    cache_answer: str | None = None
    deadline: float = 0.0  # on time.monotonic(): the whole turn is answered by then
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    # When the question was stored; None for a cached answer, stored with its question in one commit. The reply is
    # dropped if its user is forgotten after it (see LogEvent.answers_from).
    asked_at: datetime | None = None


@dataclass
class ReplyStream:
    """A turn prepared to stream: its conversation, and the reply as it is written (text deltas, then the Answer).

    Closing `items` before the Answer (a client that leaves) stores what was sent as the reply."""

    conversation: Conversation
    items: AsyncGenerator[str | Answer, None]

    @property
    def conversation_id(self) -> str:
        return self.conversation.conversation_id


class ChatService:
    def __init__(
        self,
        settings: Settings,
        conversations: ConversationStore,
        cache: ResponseCache,
        insights: InsightIndex,
        profiles: ProfileStore,
        responder: Responder,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.cache = cache
        self.insights = insights
        self.profiles = profiles
        self.responder = responder
        self.metrics = metrics
        self.pending: set[asyncio.Task] = set()

    async def answer(self, owner: Ownership, question: Question, endpoint: str = "chat") -> Answer:
        turn = await self._prepare(owner, question)
        if turn.cached:
            reply = turn.cached
        else:
            with self._timed(turn, "responder"):
                reply = await self.responder.reply(turn.history, turn.message, turn.grounding, turn.deadline)
        return await self._finish(turn, reply, endpoint)

    async def stream(self, owner: Ownership, question: Question, endpoint: str = "chat") -> ReplyStream:
        """The one way to stream a reply, for every endpoint: the turn is prepared (and any error of the request
        raised) before the first event, so a refused request is an error response, never a broken stream."""
        turn = await self._prepare(owner, question)
        return ReplyStream(turn.conversation, self._deltas(turn, endpoint))

    async def _deltas(self, turn: TurnContext, endpoint: str) -> AsyncGenerator[str | Answer, None]:
        """Text deltas, then the stored answer."""
        if turn.cached:
            # Stored before it is shown: a client that goes away after the text still finds both turns.
            stored = await self._finish(turn, turn.cached, endpoint)
            yield turn.cached.text
            yield stored
            return
        started = time.perf_counter()
        reply: Reply | None = None
        sent: list[str] = []
        try:
            async for item in self.responder.stream(turn.history, turn.message, turn.grounding, turn.deadline):
                if isinstance(item, Reply):
                    reply = item
                else:
                    sent.append(item)
                    yield item
        finally:
            self._record(turn, "responder", time.perf_counter() - started)
            if reply is None and sent:
                # The client went away mid-stream. What it was shown is part of the conversation, so it is stored;
                # in a task of its own, because this generator is being closed and may not wait.
                log.info("stream for %s ended before the reply completed", turn.conversation.conversation_id)
                task = asyncio.get_running_loop().create_task(self._store_partial(turn, "".join(sent)))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
        if reply is not None:
            yield await self._finish(turn, reply, endpoint)

    async def _store_partial(self, turn: TurnContext, text: str) -> None:
        try:
            await self.conversations.add_turn(
                turn.conversation,
                "assistant",
                text.strip(),
                language=turn.grounding.language,
                source=self.responder.primary,
                insight_ids=[hit.id for hit in turn.grounding.insights],
                answers_from=turn.asked_at,
            )
        except Exception:  # the user turn is stored; losing the partial reply must not surface anywhere
            log.exception("storing the partial reply of %s failed", turn.conversation.conversation_id)

    async def _prepare(self, owner: Ownership, question: Question) -> TurnContext:
        """Everything before the responder: limits, ownership (a missing conversation_id starts a conversation),
        profile and cache; then, with no cached answer, the user turn persisted and the insights retrieved."""
        user_id, message, language = question.user_id, question.message, question.language
        if is_blank(message):
            raise EmptyMessage()
        if len(message) > self.settings.max_message_chars:
            raise MessageTooLong(len(message), self.settings.max_message_chars)
        conversation = await owner.writer_conversation(user_id, question.conversation_id)
        conversation = conversation or self.conversations.start(owner.tenant.name, user_id)
        history = (
            question.history
            if question.history is not None
            else [
                {"role": t.role, "content": t.content}
                for t in self.conversations.history(conversation, self.settings.history_turns)
            ]
        )
        turn = TurnContext(
            conversation=conversation,
            message=message,
            history=alternating(history),
            grounding=Grounding(),
            cached=None,
            cache_intent=None,
            asked_language=language,
            deadline=self.responder.deadline(),
        )

        with self._timed(turn, "profile"):
            memory = turn.grounding.profile = await self.profiles.lookup(owner.tenant.name, user_id)
        # The reply's language, the fallback text's included.
        turn.grounding.language = reply_language(
            language,
            message,
            memory.get("language") if memory else None,
            conversation=next(
                (t.language for t in reversed(conversation.turns) if t.role == "assistant" and t.language), None
            ),
            # Else the language the message's words are clearly closest to: never English by default.
            closest=closest_language,
        )
        hit = None
        # With no language to answer in, a pre-written text would be in one nobody chose: Claude mirrors the user.
        if turn.grounding.language:
            with self._timed(turn, "cache"):
                hit = await self.cache.lookup(
                    message,
                    turn.grounding.language,
                    turn.grounding.profile,
                    (owner.tenant.name, user_id),
                    self._so_far(owner.tenant.name, user_id, turn.history),
                )
        if hit:
            # The question is stored with its cached answer, in one commit (_finish): one wait on the disk, not two.
            turn.cached = Reply(hit.reply, source="cache")
            turn.cache_intent, turn.cache_answer = hit.intent, hit.answer_id
            return turn
        with self._timed(turn, "persist_user"):
            asked = await self.conversations.add_turn(conversation, "user", message, language=language)
        turn.asked_at = asked.created_at
        turn.grounding.facts = self.cache.facts_for(
            message, next((t["content"] for t in reversed(turn.history) if t["role"] == "user"), None)
        )
        with self._timed(turn, "retrieval"):
            try:
                turn.grounding.insights = await self.insights.search(
                    message, self.settings.retrieval_k, tenant=owner.tenant.name
                )
            except Exception:  # answer without insights rather than not at all
                log.exception("insight retrieval failed")
        return turn

    def _so_far(self, tenant: str, user_id: str, history: list[dict]) -> ConversationSoFar:
        if history:
            return ConversationSoFar(turns=len(history))
        profile = self.profiles.profile(tenant, user_id)
        if profile is None or not profile.conversations or profile.last_seen is None:
            return NEW_CONVERSATION
        last = profile.last_conversation.ended_at if profile.last_conversation else profile.last_seen
        return ConversationSoFar(last_chat_days=max(0, (datetime.now(UTC).date() - last.date()).days))

    async def _finish(self, turn: TurnContext, reply: Reply, endpoint: str) -> Answer:
        insight_ids = [hit.id for hit in turn.grounding.insights]
        question = None
        if turn.asked_at is None:  # a cached answer: its question is stored with it
            question = self.conversations.turn(turn.conversation, "user", turn.message, language=turn.asked_language)
        event = self.conversations.turn(
            turn.conversation,
            "assistant",
            reply.text,
            language=turn.grounding.language,
            source=reply.source,
            cache_intent=turn.cache_intent,
            cache_answer=turn.cache_answer,
            insight_ids=insight_ids,
            model=reply.model,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            answers_from=question.created_at if question else turn.asked_at,
        )
        with self._timed(turn, "persist_exchange" if question else "persist_assistant"):
            await self.conversations.add_turns(turn.conversation, [question, event] if question else [event])
        if event.message_id is None:
            raise ValueError(f"the reply was stored as event {event.event_id} without a message id")
        self.metrics.replies.labels(endpoint, reply.source).inc()
        turn.timings["total"] = time.perf_counter() - turn.started
        return Answer(
            reply=reply.text,
            conversation_id=turn.conversation.conversation_id,
            message_id=event.message_id,
            source=reply.source,
            cache_intent=turn.cache_intent,
            insight_ids=insight_ids,
            timings=dict(turn.timings),
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
        )

    @contextmanager
    def _timed(self, turn: TurnContext, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self._record(turn, stage, time.perf_counter() - started)

    def _record(self, turn: TurnContext, stage: str, seconds: float) -> None:
        turn.timings[stage] = seconds
        self.metrics.stage_seconds.labels(stage).observe(seconds)


def alternating(history: list[dict]) -> list[dict]:
    """Claude needs user/assistant turns alternating and starting with the user: merge or drop what breaks that."""
    result: list[dict] = []
    for turn in history:
        role, content = turn.get("role"), turn.get("content") or ""
        if role not in ("user", "assistant") or not content:
            continue
        if not result and role == "assistant":
            continue
        if result and result[-1]["role"] == role:
            result[-1] = {"role": role, "content": f"{result[-1]['content']}\n\n{content}"}
        else:
            result.append({"role": role, "content": content})
    if result and result[-1]["role"] == "user":
        result.pop()  # the current message is appended by the responder
    return result
