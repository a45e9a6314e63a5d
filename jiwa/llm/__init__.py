"""LLAMA: the local model that writes the offline assets and stands in for Claude when it is unavailable."""

from __future__ import annotations

from jiwa.llm.backends import ChatBackend, Completion, LlamaCppBackend, LlamaServerBackend
from jiwa.llm.config import LlamaSettings
from jiwa.llm.isolated import IsolatedLlamaBackend, LlamaBuildBroken, LlamaCrashed
from jiwa.llm.model_files import LLMError, ModelFileError, embedded_model_path
from jiwa.llm.structured import GenerationStats, StructuredLLM

__all__ = [
    "ChatBackend",
    "Completion",
    "GenerationStats",
    "IsolatedLlamaBackend",
    "LLMError",
    "LlamaBuildBroken",
    "LlamaCrashed",
    "LlamaCppBackend",
    "LlamaServerBackend",
    "LlamaSettings",
    "ModelFileError",
    "StructuredLLM",
    "embedded_model_path",
    "open_backend",
    "open_structured",
]


def open_backend(settings: LlamaSettings) -> ChatBackend:
    """A llama.cpp server when a URL is set, else llama.cpp in a worker process of its own (proven on start)."""
    return LlamaServerBackend(settings) if settings.server_url else IsolatedLlamaBackend(settings)


def open_structured(settings: LlamaSettings, **overrides: float | int) -> StructuredLLM:
    """Schema-validated generation over the configured backend; overrides adjust sampling (e.g. the server's temperature)."""
    sampling = {
        "temperature": settings.temperature,
        "seed": settings.seed,
        "max_retries": settings.max_retries,
        **overrides,
    }
    return StructuredLLM(open_backend(settings), **sampling)
