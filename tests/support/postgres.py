"""Moved to bench/support/postgres.py, which the benchmarks share; imported here for the tests."""

from bench.support.postgres import Postgres

__all__ = ["Postgres"]
