"""Conversations as the server sees them, read from and written to the conversation store on every request.

Nothing is cached between requests, so every server process on the same store sees the same conversations,
owners and forgets at once. Calls run in a thread: the store's driver blocks.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jiwa.conversations.events import CORRECTION, END, FEEDBACK, TURN, LogEvent
from jiwa.conversations.group_commit import GroupCommit
from jiwa.conversations.repository import ConversationRepository
from jiwa.enrichment.corrections import correction_content


@dataclass
class Conversation:
    conversation_id: str
    tenant: str
    user_id: str
    turns: list[LogEvent] = field(default_factory=list)
    ended: bool = False


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConversationStore:
    def __init__(self, repository: ConversationRepository) -> None:
        self.repository = repository
        self._commits = GroupCommit(repository)

    async def user_exists(self, tenant: str, user_id: str) -> bool:
        return await asyncio.to_thread(self.repository.user_exists, tenant, user_id)

    async def conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        """The tenant's conversation, or None: another tenant's conversation does not exist for this one."""
        events = await asyncio.to_thread(self.repository.conversation_events, tenant, conversation_id)
        user_id = (
            events[0].user_id
            if events
            else await asyncio.to_thread(self.repository.conversation_user, tenant, conversation_id)
        )
        if user_id is None:
            return None
        conversation = Conversation(conversation_id, tenant, user_id)
        for event in events:
            self._apply(conversation, event)
        return conversation

    def start(self, tenant: str, user_id: str) -> Conversation:
        """A new conversation; it is stored with its first turn."""
        return Conversation(new_id("conv"), tenant, user_id)

    async def add_turn(self, conversation: Conversation, role: str, content: str, **fields) -> LogEvent:
        event = self.turn(conversation, role, content, **fields)
        await self.add_turns(conversation, [event])
        return event

    def turn(self, conversation: Conversation, role: str, content: str, **fields) -> LogEvent:
        """A turn of the conversation, not yet stored."""
        return LogEvent(
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

    async def add_turns(self, conversation: Conversation, turns: list[LogEvent]) -> None:
        """Turns stored in one commit: all of them, or none."""
        await self._commits.append(turns)
        for event in turns:
            self._apply(conversation, event)

    async def end(self, conversation: Conversation) -> None:
        event = self._event(END, conversation.tenant, conversation.user_id, conversation.conversation_id)
        await self._commits.append([event])
        conversation.ended = True

    async def find_message(self, tenant: str, message_id: str) -> LogEvent | None:
        return await asyncio.to_thread(self.repository.turn, tenant, message_id)

    async def add_feedback(self, turn: LogEvent, rating: str, comment: str | None) -> LogEvent:
        event = self._event(FEEDBACK, turn.tenant, turn.user_id, turn.conversation_id)
        event.message_id, event.rating, event.comment = turn.message_id, rating, comment
        await self._commits.append([event])
        return event

    async def add_correction(self, tenant: str, user_id: str, field: str, action: str, value: str | None) -> LogEvent:
        event = self._event(CORRECTION, tenant, user_id, None)
        event.content = correction_content(field, action, value)
        await self._commits.append([event])
        return event

    async def forget(self, tenant: str, user_id: str) -> int:
        """Everything the user wrote goes in one transaction; other writes wait only on the store's own locks."""
        return await asyncio.to_thread(self.repository.forget, tenant, user_id, utc_now())

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
