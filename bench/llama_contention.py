"""LLAMA beside LLAMA: the decode rate of a short generation alone and while another process generates on the same
cores (the chat server's local reply during a pipeline run), for OpenMP's default spin and a short spin.

    python -m bench.llama_contention [--rounds 3]

Each generation runs llama.cpp directly in a child process with the embedded model, EOS suppressed so the lengths
are what was asked. The figures that matter are the ratios: contended over alone, per setting, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import parse, save
from jiwa.llm.model_files import embedded_model_path

GENERATE = """
import json, sys, time, llama_cpp
threads = int(sys.argv[3])
llama = llama_cpp.Llama(
    model_path=sys.argv[1], n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False
)
llama.create_completion("Warm-up.", max_tokens=2, temperature=0.0)
started = time.perf_counter()
result = llama.create_completion("Notes on moving to Bali:", max_tokens=int(sys.argv[2]), temperature=0.0,
                                 logit_bias={llama.token_eos(): -1e9})
print(json.dumps({"tokens_per_s": result["usage"]["completion_tokens"] / (time.perf_counter() - started)}))
"""
# A short spin looked like a cure in a noisy first try; measured side by side it is far worse under contention
# (2.6 against 18.4 tokens/s), so llama.cpp's workers keep OpenMP's default. Kept here as the comparison.
SETTINGS = {"openmp_default": {}, "short_spin": {"GOMP_SPINCOUNT": "20000"}}


def _environment(extra: dict) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    return {**base, **extra}


def _generate(tokens: int, threads: int, extra: dict) -> float:
    out = subprocess.run(
        [sys.executable, "-c", GENERATE, str(embedded_model_path()), str(tokens), str(threads)],
        capture_output=True, text=True, env=_environment(extra), check=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])["tokens_per_s"]


def _contended(tokens: int, threads: int, extra: dict) -> float:
    background = subprocess.Popen(
        [sys.executable, "-c", GENERATE, str(embedded_model_path()), "20000", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environment(extra),
    )  # fmt: skip
    try:
        time.sleep(3.0)  # loaded and generating
        return _generate(tokens, threads, extra)
    finally:
        background.kill()
        background.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parse(parser, rounds=1, tokens=8)
    samples: dict[str, dict[str, list[float]]] = {name: {"alone": [], "contended": []} for name in SETTINGS}
    for _ in range(args.rounds):  # interleaved, so that the machine's noise falls on every setting alike
        for name, extra in SETTINGS.items():
            samples[name]["alone"].append(_generate(args.tokens, args.threads, extra))
            samples[name]["contended"].append(_contended(args.tokens, args.threads, extra))
    results: dict[str, dict[str, object]] = {}
    medians: dict[str, tuple[float, float]] = {}
    for name, runs in samples.items():
        alone = sorted(runs["alone"])[len(runs["alone"]) // 2]
        contended = sorted(runs["contended"])[len(runs["contended"]) // 2]
        medians[name] = (round(alone, 1), round(contended, 1))
        results[name] = {
            "env": SETTINGS[name],
            "alone_tokens_per_s": round(alone, 1),
            "contended_tokens_per_s": round(contended, 1),
            "contended_over_alone": round(contended / alone, 3),
            "contended_samples": [round(x, 1) for x in runs["contended"]],
        }
        print(name, json.dumps(results[name]))
    base_alone, base_contended = medians["openmp_default"]
    for name, result in results.items():
        alone, contended = medians[name]
        result["alone_vs_default"] = round(alone / base_alone, 3)
        result["contended_vs_default"] = round(contended / base_contended, 3)
    print("saved", save("llama_contention", {"rounds": args.rounds, "threads": args.threads, "settings": results}))


if __name__ == "__main__":
    main()
