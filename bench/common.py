"""Shared helpers for the benchmarks: percentiles and a results file."""

import json
import platform
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    values = np.asarray(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3)}


def save(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "machine": platform.processor() or platform.machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2))
    return path
