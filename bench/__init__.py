"""Benchmarks: ratios measured side by side in one run. Run with `make bench`."""
