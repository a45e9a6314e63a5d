"""Shared helpers for the benchmarks: their arguments (with --smoke), percentiles and a results file."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"
# Where --smoke runs write, so that a check that a benchmark still runs never overwrites what it measured.
SMOKE_RESULTS_DIR = RESULTS_DIR / "smoke"
# A folder for the results instead of either, for a test's temporary folder.
RESULTS_ENV = "BENCH_RESULTS"

_smoke = False


def parse(parser: argparse.ArgumentParser, **smallest) -> argparse.Namespace:
    """The benchmark's arguments, plus --smoke: the same code at its smallest (these defaults; arguments given on the
    command line still win), in seconds, so that the test suite can run every benchmark and notice one that broke."""
    global _smoke
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="Run at the smallest size, in seconds, to check that the benchmark still works; "
        f"results go to {SMOKE_RESULTS_DIR.relative_to(RESULTS_DIR.parent.parent)}/, not over the real ones.",
    )
    args = parser.parse_args()
    if args.smoke:
        parser.set_defaults(**smallest)
        args = parser.parse_args()
    _smoke = args.smoke
    return args


def results_dir() -> Path:
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    return SMOKE_RESULTS_DIR if _smoke else RESULTS_DIR


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    values = np.asarray(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3)}


def save(name: str, payload: dict) -> Path:
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {
        "machine": platform.processor() or platform.machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **({"smoke": True} if _smoke else {}),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2))
    return path
