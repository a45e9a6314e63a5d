"""Temporary: tests/support (being moved by another branch) imports the languages from here; they live in jiwa.domain.language. Remove once it imports them from there."""

from jiwa.domain.language import *  # noqa: F403
