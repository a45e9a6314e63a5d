"""Proves that LLAMA runs on this machine: the build's features, then a short generation in a worker process.

    python -m jiwa.llm.probe [--forbid AMX] [--tokens 64]

`make test` (and so CI) runs it before the suite with `--forbid AMX`, `make run` before queuing LLAMA's runs. It
prints the CPU, the build flags, llama.cpp's compiled features and the decode rate, and exits 1 with the reason
when the generation crashes or a forbidden feature was compiled in.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from jiwa.llm.build import build_flags, compiled_features, cpu_description
from jiwa.llm.config import LlamaSettings
from jiwa.llm.isolated import IsolatedLlamaBackend
from jiwa.llm.model_files import LLMError


@dataclass
class ProbeResult:
    ok: bool
    report: str
    tokens_per_second: float = 0.0


def probe(settings: LlamaSettings, forbid: tuple[str, ...] = (), tokens: int = 64) -> ProbeResult:
    """Starts the worker (which proves the build on start), then measures its unconstrained decode rate."""
    lines = [f"CPU: {cpu_description()}", f"llama.cpp build: {build_flags()}"]
    if settings.server_url:
        return ProbeResult(True, "\n".join([*lines, f"LLAMA runs on {settings.server_url}: nothing to prove here."]))
    try:
        backend = IsolatedLlamaBackend(settings)
    except LLMError as exc:
        return ProbeResult(False, "\n".join([*lines, f"FAILED: {exc}"]))
    try:
        lines.append(f"llama.cpp features: {backend.system_info}")
        banned = sorted(
            feature
            for feature in compiled_features(backend.system_info)
            if any(feature.startswith(prefix) for prefix in forbid)
        )
        if banned:
            return ProbeResult(
                False,
                "\n".join(
                    [
                        *lines,
                        f"FAILED: compiled with {', '.join(banned)}, which this project does not allow "
                        f"({' '.join(forbid)} kernels fault on some machines of this kind). Rebuild with the "
                        "portable default: rm -f .venv/.llama-build && make install",
                    ]
                ),  # fmt: skip
            )
        produced, seconds = backend.raw_token_rate("Notes on moving to Bali:", max_tokens=tokens)
    except LLMError as exc:
        return ProbeResult(False, "\n".join([*lines, f"FAILED: {exc}"]))
    finally:
        backend.close()
    rate = produced / seconds if seconds else 0.0
    lines.append(f"OK: {backend.model_id} generated {produced} tokens at {rate:.1f} tokens/s in a worker process")
    return ProbeResult(True, "\n".join(lines), rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--forbid", nargs="*", default=[], help="Fail if llama.cpp was compiled with a feature starting with these."
    )
    parser.add_argument("--tokens", type=int, default=64, help="Tokens to generate for the decode rate.")
    args = parser.parse_args(argv)
    result = probe(LlamaSettings(), tuple(args.forbid), args.tokens)
    print(result.report, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
