"""llama.cpp in a worker process of its own: a native crash costs the request in flight, never the caller's process.

The worker proves the build on start (a short generation); if that kills it, the build cannot run on this machine
and `LlamaBuildBroken` says why: the signal, the CPU, the build flags and what to do. A crash later, mid-request,
raises `LlamaCrashed` for that request only; the next request starts a fresh worker.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from jiwa.llm.backends import Completion
from jiwa.llm.build import REBUILD_HINT, build_flags, cpu_description
from jiwa.llm.config import LlamaSettings
from jiwa.llm.model_files import LLMError, resolve_model_path

log = logging.getLogger(__name__)

# The worker's command line; tests point it at a worker that crashes on purpose.
WORKER_COMMAND = [sys.executable, "-m", "jiwa.llm.worker"]
# Loading a GGUF and the probe generation; a 70B file on a slow disk may take minutes.
START_TIMEOUT_S = 600.0
_STDERR_TAIL_CHARS = 1500


class LlamaCrashed(LLMError):
    """The worker died while serving a request."""


class LlamaBuildBroken(LLMError):
    """The worker died before its probe generation finished: this build of llama.cpp does not run here."""


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, command: list[str], settings: dict[str, Any]) -> None:
        # stderr goes to a file, not a pipe: nothing reads it until the worker dies, and a full pipe would block it.
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        if self.process.stdin is None or self.process.stdout is None:
            raise LLMError("the LLAMA worker started without the pipes it was given")
        self.requests: IO[bytes] = self.process.stdin
        self.replies: IO[bytes] = self.process.stdout
        self.system_info = ""
        self.send(settings)

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        self.requests.write(json.dumps(message).encode("utf-8") + b"\n")
        self.requests.flush()

    def receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message, or None when the worker died (EOF). Raises TimeoutError."""
        ready, _, _ = select.select([self.replies], [], [], timeout_s)
        if not ready:
            raise TimeoutError
        line = self.replies.readline()
        if not line:
            self.process.wait()
            return None
        return json.loads(line)

    def stderr_tail(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - _STDERR_TAIL_CHARS))
        return self.stderr.read().decode("utf-8", "replace").strip()

    def stop(self) -> None:
        if self.stderr.closed:
            return
        try:
            self.requests.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.replies.close()
        self.stderr.close()


class IsolatedLlamaBackend:
    """A ChatBackend whose llama.cpp runs in a worker process, started (and proven) now and again after a crash."""

    def __init__(self, settings: LlamaSettings, command: list[str] | None = None) -> None:
        path = resolve_model_path(settings.model_path)
        self.model_id = path.stem
        self._command = list(command or WORKER_COMMAND)
        self._settings = {
            **settings.model_dump(
                include={"context_size", "threads", "gpu_layers", "seed", "repeat_penalty", "jump_forward"}
            ),
            "model_path": str(path),
        }
        self._timeout_s = settings.timeout_s
        # One KV cache in the worker: callers take turns, as they would in process.
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self.system_info = ""
        # (decoding, prompt evaluation): the threads the worker's llama.cpp reports it was given.
        self.threads: tuple[int, ...] = ()
        self.crashes = 0
        with self._lock:
            self._start()

    @property
    def pid(self) -> int | None:
        return self._worker.pid if self._worker else None

    def _start(self) -> _Worker:
        worker = _Worker(self._command, self._settings)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                message = worker.receive(max(0.0, deadline - time.monotonic()))
                if message is None:
                    raise self._broken(worker)
                if message.get("event") == "error":
                    worker.stop()
                    raise LLMError(f"LLAMA could not load {self.model_id}: {message['error']}: {message['message']}")
                if message.get("event") == "info":
                    self.system_info = worker.system_info = message["system_info"]
                elif message.get("event") == "ready":
                    self.threads = tuple(message["threads"])
                    break
        except TimeoutError as exc:
            worker.process.kill()
            worker.stop()
            raise LLMError(f"LLAMA's worker did not load {self.model_id} within {START_TIMEOUT_S:.0f} s.") from exc
        self._worker = worker
        log.info("LLAMA worker %d ready (%s, threads %s)", worker.pid, self.model_id, self.threads)
        return worker

    def _broken(self, worker: _Worker) -> LlamaBuildBroken:
        how = describe_exit(worker.process.returncode)
        tail = worker.stderr_tail()
        worker.stop()
        return LlamaBuildBroken(
            f"LLAMA's worker died ({how}) during its test generation with {self.model_id} (llama.cpp in a child "
            f"process), so LLAMA cannot run on this machine. CPU: {cpu_description()}. llama.cpp build: {build_flags()}; its features: "
            f"{worker.system_info or 'unknown (the worker died before reporting them)'}. {REBUILD_HINT}"
            + (f" The worker's last output: {tail}" if tail else "")
        )

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            worker = self._worker or self._start()
            try:
                worker.send(request)
                message = worker.receive(self._timeout_s)
            except TimeoutError as exc:
                self._discard(worker, kill=True)
                raise LLMError(f"LLAMA did not answer within {self._timeout_s:.0f} s (JIWA_LLM_TIMEOUT_S).") from exc
            except (OSError, ValueError):  # the worker died (or was closed) before it answered
                message = None
            if message is None:
                if self._worker is None:
                    raise LLMError("LLAMA was closed during a request.")
                how = describe_exit(worker.process.wait())
                self._discard(worker)
                self.crashes += 1
                log.error("LLAMA worker %d died (%s); the next request starts a new one", worker.pid, how)
                raise LlamaCrashed(f"LLAMA's worker died ({how}) during a request; the next request starts a new one.")
        if not message["ok"]:
            raise LLMError(f"LLAMA failed: {message['error']}: {message['message']}")
        return message["result"]

    def _discard(self, worker: _Worker, kill: bool = False) -> None:
        if kill:
            worker.process.kill()
        worker.stop()
        self._worker = None

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        result = self._call(
            {
                "op": "complete",
                "messages": messages,
                "json_schema": json_schema,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "seed": seed,
            }  # fmt: skip
        )
        return Completion(**result)

    def raw_token_rate(self, prompt: str, max_tokens: int) -> tuple[int, float]:
        """Unconstrained generation timed inside the worker: (tokens, seconds)."""
        result = self._call({"op": "raw_token_rate", "prompt": prompt, "max_tokens": max_tokens})
        return result["tokens"], result["seconds"]

    def close(self) -> None:
        """Stops the worker, without waiting for a request in flight (which then fails as a crash would)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
