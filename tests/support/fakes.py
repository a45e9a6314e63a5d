"""Moved to bench/support/fakes.py, which the benchmarks share; imported here for the tests."""

from bench.support.fakes import FakeChatBackend, FakeLlamaResource, fake_analysis, verbatim_finding

__all__ = ["FakeChatBackend", "FakeLlamaResource", "fake_analysis", "verbatim_finding"]
