"""A conversation as LLAMA reads it: numbered turns from the log, rendered so the text stays data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from jiwa.prompts import as_data


@dataclass(frozen=True)
class TranscriptTurn:
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
    turns: tuple[TranscriptTurn, ...]
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
                TranscriptTurn(i, e["role"], e["content"] or "", e["created_at"], e.get("message_id"))
                for i, e in enumerate(turns, start=1)
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
    # One line per turn, and brackets reserved for the notes after a turn, so a user cannot forge a rating.
    return as_data(" ".join(text.split())).replace("[", "(").replace("]", ")")
