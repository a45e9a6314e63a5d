"""What this machine's llama.cpp was built with and what the CPU offers: the facts a crash report needs."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

# CPU flags that decide which llama.cpp kernels can run; the rest of /proc/cpuinfo's list says nothing about it.
RELEVANT_CPU_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8",
                      "amx_bf16")  # fmt: skip
# Written by `make install`: the CMake flags llama-cpp-python was compiled with.
BUILD_STAMP = Path(sys.prefix) / ".llama-build"
REBUILD_HINT = (
    "Rebuild llama.cpp for this machine with the portable default (`rm -f .venv/.llama-build && make install`, "
    "which compiles with LLAMA_CMAKE_ARGS='-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF'), or set JIWA_LLM_SERVER_URL to a "
    "llama.cpp server on a machine where it runs."
)


def cpu_description() -> str:
    """The CPU's model name and the flags among RELEVANT_CPU_FLAGS it advertises."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line and line.split(":", 1)[0].strip())
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    present = [flag for flag in RELEVANT_CPU_FLAGS if flag in flags]
    return f"{fields.get('model name', platform.machine())}; flags: {' '.join(present) or 'none of interest'}"


def build_flags() -> str:
    """The build `make install` recorded, or a note that this llama-cpp-python came from elsewhere."""
    try:
        return BUILD_STAMP.read_text().strip()
    except OSError:
        return "unknown (llama-cpp-python was not built by `make install`)"


def compiled_features(system_info: str) -> set[str]:
    """The features llama.cpp reports as compiled in and usable, e.g. {'AVX2', 'AMX_INT8'} from 'AVX2 = 1 | ...'."""
    features = set()
    for part in system_info.replace("\n", "|").split("|"):
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name and value.strip() == "1":
            features.add(name)
    return features
