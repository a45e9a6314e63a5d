"""Temporary: tests/support (being moved by another branch) imports the conversation events from here; they live in jiwa.conversations.events. Remove once it imports them from there."""

from jiwa.conversations.events import *  # noqa: F403
