"""Conversations as the server sees them: written through the log, read back from memory or from the log."""

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from jiwa.convlog import END, FEEDBACK, FORGET, TURN, LogEvent, LogReader, read_jsonl
from serving.log_writer import LogWriter, utc_now

_CACHED_CONVERSATIONS = 10_000


@dataclass
class Conversation:
    conversation_id: str
    tenant: str
    user_id: str
    turns: list[LogEvent] = field(default_factory=list)
    ended: bool = False


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class ConversationStore:
    def __init__(self, writer: LogWriter, reader: LogReader) -> None:
        self.writer = writer
        self.reader = reader
        self._owners: dict[str, str] = {}
        self._cache: OrderedDict[str, Conversation] = OrderedDict()

    async def load(self) -> None:
        """Learn which tenant owns each user; the log is the source of truth."""
        events = await asyncio.to_thread(self._all_owner_events)
        for event in sorted(events, key=lambda e: e.created_at):
            if event.type == FORGET:
                self._owners.pop(event.user_id, None)
            else:
                self._owners.setdefault(event.user_id, event.tenant)

    def owner_of(self, user_id: str) -> str | None:
        return self._owners.get(user_id)

    async def conversation(self, conversation_id: str) -> Conversation | None:
        if conversation_id in self._cache:
            self._cache.move_to_end(conversation_id)
            return self._cache[conversation_id]
        events = await asyncio.to_thread(self._find, "conversation_id", conversation_id)
        if not events:
            return None
        first = events[0]
        conversation = Conversation(conversation_id, first.tenant, first.user_id)
        for event in events:
            self._apply(conversation, event)
        self._remember(conversation)
        return conversation

    def start(self, tenant: str, user_id: str, conversation_id: str | None = None) -> Conversation:
        conversation = Conversation(conversation_id or new_id("conv"), tenant, user_id)
        self._remember(conversation)
        return conversation

    async def add_turn(self, conversation: Conversation, role: str, content: str, **fields) -> LogEvent:
        event = LogEvent(
            event_id=new_id("evt"),
            type=TURN,
            created_at=utc_now(),
            tenant=conversation.tenant,
            user_id=conversation.user_id,
            conversation_id=conversation.conversation_id,
            message_id=new_id("msg"),
            role=role,
            content=content,
            **fields,
        )
        await self.writer.append([event])
        self._owners.setdefault(conversation.user_id, conversation.tenant)
        self._apply(conversation, event)
        return event

    async def end(self, conversation: Conversation) -> None:
        await self.writer.append(
            [self._event(END, conversation.tenant, conversation.user_id, conversation.conversation_id)]
        )
        conversation.ended = True

    async def find_message(self, message_id: str) -> LogEvent | None:
        for conversation in self._cache.values():
            for turn in conversation.turns:
                if turn.message_id == message_id:
                    return turn
        events = await asyncio.to_thread(self._find, "message_id", message_id)
        return next((event for event in events if event.type == TURN), None)

    async def add_feedback(self, turn: LogEvent, rating: str, comment: str | None) -> LogEvent:
        event = self._event(FEEDBACK, turn.tenant, turn.user_id, turn.conversation_id)
        event.message_id, event.rating, event.comment = turn.message_id, rating, comment
        await self.writer.append([event])
        return event

    async def forget(self, tenant: str, user_id: str) -> int:
        """Remove the user's events from disk now, then log the forget so later readers drop anything missed."""
        removed = await self.writer.forget_user(user_id)
        await self.writer.append([self._event(FORGET, tenant, user_id, None)])
        self._owners.pop(user_id, None)
        for conversation_id in [cid for cid, c in self._cache.items() if c.user_id == user_id]:
            del self._cache[conversation_id]
        return removed

    def history(self, conversation: Conversation, limit: int) -> list[LogEvent]:
        return conversation.turns[-limit:] if limit else []

    @staticmethod
    def _event(kind: str, tenant: str, user_id: str, conversation_id: str | None) -> LogEvent:
        return LogEvent(
            event_id=new_id("evt"),
            type=kind,
            created_at=utc_now(),
            tenant=tenant,
            user_id=user_id,
            conversation_id=conversation_id,
        )

    @staticmethod
    def _apply(conversation: Conversation, event: LogEvent) -> None:
        if event.type == TURN:
            conversation.turns.append(event)
            conversation.ended = False  # a conversation that continues after ending is open again
        elif event.type == END:
            conversation.ended = True

    def _remember(self, conversation: Conversation) -> None:
        self._cache[conversation.conversation_id] = conversation
        self._cache.move_to_end(conversation.conversation_id)
        while len(self._cache) > _CACHED_CONVERSATIONS:
            self._cache.popitem(last=False)

    def _unsealed_events(self) -> list[LogEvent]:
        """This writer's active segment, plus those of other live writers sharing the spool folder."""
        events = list(self.writer.active_events)
        for path in self.writer.spool_dir.glob("*.jsonl"):
            if not path.name.startswith(self.writer.writer_id):
                events.extend(read_jsonl(path))
        return events

    def _find(self, column: str, value: str) -> list[LogEvent]:
        sealed = self.reader.query(f"SELECT * FROM events WHERE {column} = ? ORDER BY created_at", [value])
        found = {row["event_id"]: LogEvent.from_dict(row) for row in sealed.to_pylist()}
        forgotten_at: dict[str, object] = {}
        for event in self._unsealed_events():
            if event.type == FORGET:
                forgotten_at[event.user_id] = max(event.created_at, forgotten_at.get(event.user_id, event.created_at))
            elif getattr(event, column) == value:
                found[event.event_id] = event
        kept = (e for e in found.values() if e.user_id not in forgotten_at or e.created_at > forgotten_at[e.user_id])
        return sorted(kept, key=lambda e: e.created_at)

    def _all_owner_events(self) -> list[LogEvent]:
        sealed = self.reader.query(
            "SELECT user_id, arg_min(tenant, created_at) AS tenant, min(created_at) AS created_at FROM events GROUP BY user_id"
        )
        events = [
            LogEvent(event_id="", type=TURN, created_at=row["created_at"], tenant=row["tenant"], user_id=row["user_id"])
            for row in sealed.to_pylist()
        ]
        return events + self._unsealed_events()
