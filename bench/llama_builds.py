"""Which llama.cpp build to install: the decode and prompt rates of each build option, measured side by side here.

Each option is compiled from the same llama-cpp-python source (pip's cache never used), installed into a folder of
its own, and measured in a child process of its own with the same model, prompt and threads; rounds alternate
between the builds so that the machine's noise falls on all of them alike. The figures that matter are the ratios
to the portable build, which `make install` uses by default.

    python -m bench.llama_builds [--builds portable avx512 native] [--rounds 5] [--work-dir /tmp/llama-builds]

A build whose child process dies (for example a native build on a CPU whose AMX kernels fault) is reported with the
signal, not measured. Building takes about 5 minutes an option on 2 cores; built folders are reused by --work-dir.
--installed measures the llama-cpp-python of this environment instead and compiles nothing (so does --smoke, once);
the build options are still checked against pyproject.toml's pin.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bench.common import parse, save
from jiwa.llm.build import cpu_description
from jiwa.llm.isolated import describe_exit
from jiwa.llm.model_files import embedded_model_path

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"
BUILDS = {
    "portable": "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF",
    "avx512": "-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON "
    "-DLLAVA_BUILD=OFF",
    "native": "-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF",
}
INSTALLED = "installed"  # this environment's llama-cpp-python, as make install built it
# Run in the child, against one build: prompt processing and decoding timed apart, from llama.cpp's own counters.
MEASURE = """
import json, sys
import llama_cpp
threads = int(sys.argv[2])
llama = llama_cpp.Llama(
    model_path=sys.argv[1], n_ctx=2048, n_threads=threads, n_threads_batch=threads, seed=1, verbose=False
)
llama.create_completion("Warm-up: the island of Bali.", max_tokens=4, temperature=0.0)
llama_cpp.llama_perf_context_reset(llama.ctx)
# Another prompt than the warm-up's, so that no evaluated prefix is reused.
prompt = "Notes for someone moving to Bali: visas, the KITAS, a PT PMA company, and the culture. " * 8
llama.create_completion(prompt, max_tokens=128, temperature=0.0)
perf = llama_cpp.llama_perf_context(llama.ctx)
print(json.dumps({"prompt_tokens": perf.n_p_eval, "prompt_ms": perf.t_p_eval_ms, "decoded": perf.n_eval,
    "decode_ms": perf.t_eval_ms, "features": llama_cpp.llama_print_system_info().decode()}))
"""


def llama_version() -> str:
    match = re.search(r'"llama-cpp-python==([^"]+)"', PYPROJECT.read_text())
    if not match:
        raise SystemExit("pyproject.toml pins no llama-cpp-python version")
    return match.group(1)


def build(name: str, cmake_args: str, work_dir: Path) -> Path:
    """llama-cpp-python compiled with these flags, installed into work_dir/name (reused when already there)."""
    target = work_dir / name
    stamp = target / "cmake-args"
    if stamp.is_file() and stamp.read_text() == cmake_args:
        return target
    wheels = work_dir / f"{name}-wheel"
    env = {**os.environ, "CMAKE_ARGS": cmake_args, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    pip = [sys.executable, "-m", "pip"]
    spec = f"llama-cpp-python=={llama_version()}"
    print(f"building {name}: {cmake_args}", flush=True)
    subprocess.run([*pip, "wheel", "--no-cache-dir", "--no-binary", "llama-cpp-python", "--no-deps", "-w", str(wheels),
                    spec], check=True, env=env)  # fmt: skip
    wheel = next(wheels.glob("llama_cpp_python-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--upgrade", "--target", str(target), str(wheel)], check=True)
    stamp.write_text(cmake_args)
    return target


def measure(site: Path | None, threads: int) -> dict:
    # The build's own folder first: it must shadow the llama-cpp-python of this environment (None: that one).
    env = {**os.environ}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    process = subprocess.run(
        [sys.executable, "-c", MEASURE, str(embedded_model_path()), str(threads)],
        capture_output=True,
        text=True,
        env=env,
    )
    if process.returncode != 0:
        return {"crashed": describe_exit(process.returncode), "stderr": process.stderr[-400:]}
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", nargs="*", default=list(BUILDS), choices=list(BUILDS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/llama-builds"))
    parser.add_argument("--installed", action="store_true", help="Measure this environment's build; compile nothing.")
    args = parse(parser, installed=True, rounds=1)
    spec = f"llama-cpp-python=={llama_version()}"  # the pin every build compiles, checked before anything runs
    if args.installed:
        print(f"measuring the installed build, not compiling {spec}: {', '.join(args.builds)}", flush=True)
        sites: dict[str, Path | None] = {INSTALLED: None}
    else:
        sites = {name: build(name, BUILDS[name], args.work_dir) for name in args.builds}
    runs: dict[str, list[dict]] = {name: [] for name in sites}
    for _ in range(args.rounds):
        for name, site in sites.items():
            runs[name].append(measure(site, args.threads))
    results = {}
    for name, samples in runs.items():
        crashed = [s for s in samples if "crashed" in s]
        if crashed:
            results[name] = {
                "cmake_args": BUILDS.get(name, INSTALLED),
                "crashed": crashed[0]["crashed"],
                "stderr": crashed[0]["stderr"],
            }
            continue
        decode = sorted(s["decoded"] / (s["decode_ms"] / 1000) for s in samples)
        prompt = sorted(s["prompt_tokens"] / (s["prompt_ms"] / 1000) for s in samples)
        results[name] = {
            "cmake_args": BUILDS.get(name, INSTALLED),
            "decode_tokens_per_s_median": round(decode[len(decode) // 2], 1),
            "prompt_tokens_per_s_median": round(prompt[len(prompt) // 2], 1),
            "features": samples[0]["features"],
        }
    base = results.get("portable", {})
    for name, result in results.items():
        if "decode_tokens_per_s_median" in result and "decode_tokens_per_s_median" in base:
            result["decode_vs_portable"] = round(
                result["decode_tokens_per_s_median"] / base["decode_tokens_per_s_median"], 3
            )
            result["prompt_vs_portable"] = round(
                result["prompt_tokens_per_s_median"] / base["prompt_tokens_per_s_median"], 3
            )
        print(name, json.dumps({k: v for k, v in result.items() if k != "features"}))
    path = save("llama_builds", {"cpu": cpu_description(), "rounds": args.rounds, "threads": args.threads,
                                 "builds": results})  # fmt: skip
    print(f"saved {path}")


if __name__ == "__main__":
    main()
