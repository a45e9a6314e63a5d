"""The llama.cpp-server path (a GPU box in production): a real llama_cpp.server with SmolLM2, reached over HTTP."""

import json
import os
import subprocess
import sys
import time

import dagster as dg
import httpx
import lancedb
import pytest

from assets.knowledge import cultural_insights, cultural_topics
from assets.resources import LlamaResource
from bench import common
from jiwa.llm import LlamaServerBackend, LlamaSettings, LLMError, embedded_model_path
from jiwa.paths import PROJECT_ROOT
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.resources import pipeline_resources
from tests.support.server import free_port


@pytest.fixture(scope="module")
def llama_server():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(embedded_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--model_alias",
            "smollm2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("llama_cpp.server did not start within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.model
def test_materialize_through_a_llama_server(llama_server, data_uri):
    resources = pipeline_resources(data_uri, LlamaResource(server_url=llama_server, server_model="smollm2"))
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key="bali_time_ceremony",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1, "topic_limit": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = result.asset_materializations_for_node("cultural_insights")[0].metadata
    assert metadata["model"].value == "smollm2"
    assert metadata["completion_tokens"].value > 0
    assert metadata["published"].value is True
    # The server's insight went through the truth gate like any other: passed and published, or dropped and counted.
    generated, passed = metadata["generated"].value, metadata["passed_truth_gate"].value
    assert generated >= 1 and passed + sum(metadata["dropped_by_truth_gate"].value.values()) == generated
    rows = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).to_arrow().to_pylist()
    assert len(rows) == metadata["rows_written"].value <= passed
    assert all(row["topic_id"] == "jam_karet" and row["model"] == "smollm2" for row in rows)


def test_unreachable_server_is_a_clear_error():
    backend = LlamaServerBackend(LlamaSettings(server_url=f"http://127.0.0.1:{free_port()}", timeout_s=2))
    with pytest.raises(LLMError, match="JIWA_LLM_SERVER_URL"):
        backend.complete([{"role": "user", "content": "hi"}], json_schema=None, max_tokens=4, temperature=0, seed=1)


@pytest.mark.model
def test_the_generation_benchmark_measures_a_server_beside_its_own_raw_rate(llama_server, tmp_path):
    """`bench.generation --server-url` (how parallel slots are measured against llama-server): rounds of requests in
    flight at once, each beside one raw request alone on the same server."""
    env = {**os.environ, common.RESULTS_ENV: str(tmp_path), "JIWA_LLM_MAX_RETRIES": "0"}
    command = [
        sys.executable,
        "-m",
        "bench.generation",
        "--smoke",
        "--server-url",
        llama_server,
        "--concurrency",
        "2",
        "--per-topic",
        "2",
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "generation-server-x2.json").read_text())
    assert report["backend"] == llama_server and report["concurrency"] == 2
    assert report["raw_tokens_per_s"] > 0 and report["calls"] >= 2 and report["jiwa_over_raw"] > 0
