"""The conversation store: every turn, end, feedback and forget, in SQLite (default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

SQLITE_FILE = "conversations.sqlite3"


def sqlite_url(data_dir: str) -> str:
    """The default store: a SQLite file in the data folder."""
    return f"sqlite:///{Path(data_dir).resolve() / SQLITE_FILE}"
