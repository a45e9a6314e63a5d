"""Moved to bench/support/resources.py, which the benchmarks share; imported here for the tests."""

from bench.support.resources import pipeline_resources, session_embedder

__all__ = ["pipeline_resources", "session_embedder"]
