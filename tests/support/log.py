"""Moved to bench/support/log.py, which the benchmarks share; imported here for the tests."""

from bench.support.log import conversation, forget_event, hours_ago, record

__all__ = ["conversation", "forget_event", "hours_ago", "record"]
