"""How soon a fresh set-up answers: make run's first half (no model), the server's start, and the first reply
grounded in the curated base, timed on a fresh data folder and Dagster home, as one whole."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import httpx

from bench.common import parse, save
from bench.support.fake_anthropic import free_port
from jiwa.paths import PROJECT_ROOT


def main() -> None:
    parse(argparse.ArgumentParser(description=__doc__))  # --smoke: the same run; it takes seconds already
    root = tempfile.mkdtemp(prefix="jiwa-bench-first-answer-")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": f"{root}/dagster", "JIWA_DATA_URI": f"{root}/data", "JIWA_PORT": str(port)}
    os.makedirs(env["DAGSTER_HOME"])
    shutil.copy(PROJECT_ROOT / "pipelines" / "dagster.yaml", env["DAGSTER_HOME"])
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipelines.bootstrap"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    published = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the chat server did not start within 120 s") from None
                time.sleep(0.2)
        up = time.perf_counter()
        body = {"user_id": "first", "message": "aku malu mau tanya soal visa, maaf ya"}
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat", json=body, timeout=300).json()
        replied = time.perf_counter()
    finally:
        server.terminate()
        server.wait()
    report = {
        "publish_without_a_model_s": round(published - started, 1),
        "server_start_s": round(up - published, 1),
        "first_reply_s": round(replied - up, 1),
        "total_s": round(replied - started, 1),
        "responder": answer["source"],
        "insights_in_reply": len(answer["insight_ids"]),
    }
    print(report)
    save("first_answer", report)


if __name__ == "__main__":
    main()
