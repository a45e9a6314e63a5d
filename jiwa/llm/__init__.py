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


def open_structured(
    settings: LlamaSettings,
    *,
    temperature: float | None = None,
    seed: int | None = None,
    max_retries: int | None = None,
) -> StructuredLLM:
    """Schema-validated generation over the configured backend; a sampling setting given here (e.g. the server's
    temperature) replaces the one in settings."""
    return StructuredLLM(
        open_backend(settings),
        temperature=settings.temperature if temperature is None else temperature,
        seed=settings.seed if seed is None else seed,
        max_retries=settings.max_retries if max_retries is None else max_retries,
    )
