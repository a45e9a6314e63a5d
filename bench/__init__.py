"""Benchmarks: ratios measured side by side in one run. Run with `make bench`."""

import os

# Lance logs a deprecation warning on every scored query; set before any module imports lancedb.
os.environ.setdefault("LANCEDB_LOG", "error")
