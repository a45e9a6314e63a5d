"""Temporary: tests/support (being moved by another branch) imports the profile from here; it lives in jiwa.domain.profile. Remove once it imports it from there."""

from jiwa.domain.profile import *  # noqa: F403
