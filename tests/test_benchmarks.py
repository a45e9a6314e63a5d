"""Benchmarks that cannot rot: each LLM benchmark runs end to end, at its smallest, with the real model."""

import os
import subprocess
import sys

import pytest

from jiwa.paths import PROJECT_ROOT


@pytest.mark.model
def test_the_generation_benchmark_runs_and_reports_its_ratio_to_raw_llama():
    result = subprocess.run(
        [sys.executable, "-m", "bench.generation", "--topics", "1", "--per-topic", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "JIWA_LLM_MAX_RETRIES": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert float(report["raw_tokens_per_s"]) > 0 and "jiwa_over_raw" in report
