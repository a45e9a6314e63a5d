"""Moved to bench/support/fake_anthropic.py, which the benchmarks share; imported here for the tests."""

from bench.support.fake_anthropic import FakeAnthropic

__all__ = ["FakeAnthropic"]
