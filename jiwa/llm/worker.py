"""LLAMA's worker process: llama.cpp loaded here and nowhere else, so a fault in native code ends this process only.

The parent (`jiwa.llm.isolated`) starts `python -m jiwa.llm.worker`, writes one JSON line of settings, then one JSON
line per request; the worker answers one JSON line each. Before loading the model it reports llama.cpp's build
(`llama_print_system_info`), so the parent can name it even if the first generation kills the worker; after loading
it runs a short generation, the proof that this build works on this CPU, and only then says it is ready.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
from typing import IO, Any

# A prompt of several tokens: the AMX kernels that fault on some CPUs are reached only by a batch of more than one.
PROBE_PROMPT = "Bali is an island of Indonesia, known for its temples, rice terraces and"
PROBE_TOKENS = 8


def system_info() -> str:
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()


def probe(backend) -> int:
    """A short generation; returns the tokens it produced."""
    tokens, _ = backend.raw_token_rate(PROBE_PROMPT, max_tokens=PROBE_TOKENS)
    return tokens


def _exit_with_parent() -> None:
    """The parent may die without closing our stdin (SIGKILL mid-generation): leave then, not later."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _send(channel: IO[bytes], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message).encode("utf-8") + b"\n")
    channel.flush()


def _handle(backend, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "complete":
        completion = backend.complete(
            request["messages"],
            json_schema=request.get("json_schema"),
            max_tokens=request["max_tokens"],
            temperature=request["temperature"],
            seed=request["seed"],
        )
        return dataclasses.asdict(completion)
    if op == "raw_token_rate":
        tokens, seconds = backend.raw_token_rate(request["prompt"], request["max_tokens"])
        return {"tokens": tokens, "seconds": seconds}
    raise ValueError(f"unknown operation {op!r}")


def main() -> int:
    # Our answers go through a private copy of stdout; fd 1 itself goes to stderr, so nothing native code prints
    # can corrupt a reply.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    threading.Thread(target=_exit_with_parent, daemon=True).start()

    from jiwa.llm.backends import LlamaCppBackend
    from jiwa.llm.config import LlamaSettings

    settings = LlamaSettings.model_validate_json(sys.stdin.buffer.readline())
    _send(channel, {"event": "info", "pid": os.getpid(), "system_info": system_info()})
    try:
        backend = LlamaCppBackend(settings)
    except Exception as exc:  # a file llama.cpp refuses: an error to report, not a crash
        _send(channel, {"event": "error", "error": type(exc).__name__, "message": str(exc)[:2000]})
        return 1
    _send(
        channel,
        {
            "event": "ready",
            "model_id": backend.model_id,
            "probe_tokens": probe(backend),
            "threads": list(backend.threads),
        },
    )
    for line in sys.stdin.buffer:
        try:
            _send(channel, {"ok": True, "result": _handle(backend, json.loads(line))})
        except Exception as exc:  # one bad request fails that request, never the worker
            _send(channel, {"ok": False, "error": type(exc).__name__, "message": str(exc)[:2000]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
