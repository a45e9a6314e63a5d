"""A native crash of llama.cpp takes nothing down: LLAMA runs in a worker process that proves its build on start.

The crashing builds here are LLAMA's real worker with the real model, made to die with SIGSEGV in its probe
generation (tests/support/crashing_llama.py), as a build with faulting AMX kernels does on some machines.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from litestar.testing import AsyncTestClient

from assets.knowledge import cultural_insights, cultural_topics
from assets.resources import LlamaResource
from jiwa.llm import IsolatedLlamaBackend, LlamaBuildBroken, LlamaCrashed, LlamaSettings
from jiwa.llm import isolated as isolated_module
from jiwa.llm.build import compiled_features
from jiwa.llm.probe import probe
from pipelines import bootstrap
from serving.app import create_app
from tests.support.resources import pipeline_resources
from tests.support.server import auth, server_settings

CRASHING_WORKER = [sys.executable, "-m", "tests.support.crashing_llama", "probe"]
ROOT = Path(__file__).parent.parent
# Not a question the (empty) response cache could answer: it goes to a responder.
OPEN_QUESTION = {"user_id": "wayan", "message": "Tell me a short story about the sea in Amed.", "language": "en"}


@pytest.fixture()
def crashing_build(monkeypatch):
    monkeypatch.setattr(isolated_module, "WORKER_COMMAND", CRASHING_WORKER)


def _says_why(message: str) -> None:
    """The reason as the issue asks for it: the signal, the CPU, the build, and what to do."""
    assert "SIGSEGV" in message
    assert "CPU:" in message and "flags:" in message
    assert "llama.cpp build:" in message and "AVX" in message  # the features the worker reported before dying
    assert "make install" in message and "JIWA_LLM_SERVER_URL" in message


def test_a_build_that_crashes_is_named_with_signal_cpu_and_build():
    started = time.monotonic()
    with pytest.raises(LlamaBuildBroken) as error:
        IsolatedLlamaBackend(LlamaSettings(context_size=512), command=CRASHING_WORKER)
    _says_why(str(error.value))
    assert time.monotonic() - started < 60


def test_a_run_on_a_crashing_build_fails_at_once_with_the_reason(crashing_build, data_uri):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=pipeline_resources(data_uri, LlamaResource(model_path="", server_url="", context_size=512)),
        partition_key="phrases_emotions",
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.get_step_failure_events() if e.step_key == "cultural_insights"]
    error = failure.step_failure_data.error
    _says_why(error.message)
    # A build that cannot run is not retried: the same crash would follow.
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert result.asset_materializations_for_node("cultural_insights") == []
    # The asset was planned and its run failed: the UI marks it failed, linking to this step's error.
    planned = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    )
    assert cultural_insights.key in {r.event_log_entry.dagster_event.asset_key for r in planned}
    assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_step_whose_worker_crashes_mid_run_is_retried_once_then_fails_with_the_reason(monkeypatch, data_uri):
    monkeypatch.setattr(isolated_module, "WORKER_COMMAND", [*CRASHING_WORKER[:-1], "request"])
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=pipeline_resources(data_uri, LlamaResource(model_path="", server_url="", context_size=512)),
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1, "topic_limit": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retries] == ["cultural_insights"]
    [failure] = [e for e in result.get_step_failure_events() if e.step_key == "cultural_insights"]
    assert "LLAMA's worker died (SIGSEGV) during a request" in str(failure.step_failure_data.error)


def test_make_run_queues_no_llama_run_on_a_crashing_build_and_says_why(crashing_build, caplog, monkeypatch):
    queued = []
    monkeypatch.setattr(bootstrap, "queue", lambda planned, *args: queued.extend(planned) or len(planned))
    monkeypatch.setenv("JIWA_LLM_CONTEXT_SIZE", "512")
    with caplog.at_level("ERROR", logger="jiwa.bootstrap"):
        assert bootstrap.main(["--enqueue"]) == 1
    assert queued == []
    _says_why(caplog.text)
    assert "answers from the curated base" in caplog.text


async def test_a_server_on_a_crashing_build_serves_with_local_replies_off(crashing_build, data_uri, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = server_settings(data_uri, local_responder=True, llm=LlamaSettings(context_size=512))
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/ready")).json()["responder"] == "fallback"
        metrics = (await client.get("/metrics")).text
        assert re.search(r"^jiwa_local_responder_up 0\.0$", metrics, re.M)
        response = await client.post("/v1/chat", json=OPEN_QUESTION, headers=auth())
        assert response.status_code == 200 and response.json()["source"] == "fallback"


def test_compiled_features_are_read_from_llamas_system_info():
    assert compiled_features("CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 0 | LLAMAFILE = 1") == {
        "SSE3",
        "AVX2",
        "LLAMAFILE",
    }
    assert "AMX_INT8" in compiled_features("CPU : AVX512 = 1 | AMX_INT8 = 1 |\nCUDA : ARCHS = 900 |")


def test_the_install_builds_with_the_flags_it_is_given(tmp_path):
    """LLAMA_CMAKE_ARGS reaches the compiler, pip's cache is never used for llama-cpp-python, and a build with other
    flags than the recorded ones is rebuilt (make -n prints what make install would run)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    flags = "-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF"
    plan = subprocess.run(
        ["make", "-n", f"VENV={venv}", f"{venv}/.llama-build", f"LLAMA_CMAKE_ARGS={flags}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f'CMAKE_ARGS="{flags}"' in plan
    assert "--no-cache-dir --no-binary llama-cpp-python" in plan
    default = subprocess.run(
        ["make", "-n", f"VENV={venv}", f"{venv}/.llama-build"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"' in default
    test_plan = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "-m jiwa.llm.probe --forbid AMX\n" in test_plan
    assert test_plan.index("jiwa.llm.probe") < test_plan.index("-m pytest")
    trusting = subprocess.run(
        ["make", "-n", "test", "LLAMA_FORBID="], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "-m jiwa.llm.probe --forbid \n" in trusting


@pytest.mark.model
def test_the_probe_proves_this_build_and_measures_it():
    result = probe(LlamaSettings(context_size=512), forbid=("AMX",), tokens=16)
    assert result.ok, result.report
    assert result.tokens_per_second > 0 and "generated 16 tokens" in result.report
    refused = probe(LlamaSettings(context_size=512), forbid=("AVX",), tokens=4)
    assert not refused.ok and "compiled with AVX" in refused.report and "make install" in refused.report


@pytest.mark.model
async def test_a_worker_killed_mid_reply_costs_one_fallback_and_comes_back(data_uri, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = server_settings(
        data_uri, local_responder=True, local_max_tokens=60, llm=LlamaSettings(context_size=2048)
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        backend = app.state.services.responder.local.backend
        first_pid = backend.pid

        def kill_when_busy():
            # A thread, not a task: the in-process client may hold the test's event loop for the whole request.
            deadline = time.monotonic() + 30
            while not backend._lock.locked() and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)
            os.kill(first_pid, signal.SIGSEGV)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        started = time.monotonic()
        crashed = await client.post("/v1/chat", json=OPEN_QUESTION, headers=auth())
        killer.join()
        assert crashed.status_code == 200 and crashed.json()["source"] == "fallback"
        assert time.monotonic() - started < settings.turn_deadline_s
        metrics = (await client.get("/metrics")).text
        assert 'jiwa_responder_failures_total{reason="LlamaCrashed",responder="local"} 1.0' in metrics
        assert (await client.get("/health")).status_code == 200

        again = await client.post("/v1/chat", json={**OPEN_QUESTION, "user_id": "made"}, headers=auth())
        assert again.status_code == 200 and again.json()["source"] == "local", again.json()
        assert backend.pid not in (None, first_pid) and backend.crashes == 1


@pytest.mark.model
def test_a_worker_that_died_fails_one_request_and_the_next_starts_a_new_one():
    backend = IsolatedLlamaBackend(LlamaSettings(context_size=512))
    try:
        os.kill(backend.pid, signal.SIGSEGV)
        with pytest.raises(LlamaCrashed, match="SIGSEGV"):
            backend.raw_token_rate("Bali is", max_tokens=4)
        tokens, seconds = backend.raw_token_rate("Bali is", max_tokens=4)
        assert tokens > 0 and seconds > 0
    finally:
        backend.close()


@pytest.mark.model
def test_the_threads_setting_holds_for_prompts_as_well_as_decoding(monkeypatch):
    """JIWA_LLM_THREADS leaves the other cores to the rest of the machine (the chat server beside a run): without
    being told, llama-cpp-python evaluates prompts on every core whatever the setting."""
    monkeypatch.setenv("JIWA_LLM_THREADS", "1")
    one = IsolatedLlamaBackend(LlamaSettings(context_size=512))
    every = IsolatedLlamaBackend(LlamaSettings(context_size=512, threads=0))
    try:
        assert one.threads == (1, 1)
        assert every.threads == (os.cpu_count(), os.cpu_count())
    finally:
        one.close()
        every.close()


def test_make_runs_first_half_needs_no_model_even_on_a_crashing_build(crashing_build, data_uri, monkeypatch):
    """The curated base and the team's response cache are published where LLAMA cannot run: the server has them."""
    import lancedb

    from jiwa.store.schema import INSIGHTS_TABLE, RESPONSE_CACHE_TABLE

    monkeypatch.setenv("JIWA_DATA_URI", data_uri)
    monkeypatch.setenv("JIWA_LLM_CONTEXT_SIZE", "512")
    bootstrap.publish_without_a_model(dg.DagsterInstance.ephemeral())
    db = lancedb.connect(data_uri)
    assert db.open_table(INSIGHTS_TABLE).count_rows() > 0
    assert db.open_table(RESPONSE_CACHE_TABLE).count_rows() > 0
