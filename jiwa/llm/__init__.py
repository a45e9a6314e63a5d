"""LLAMA: the local model that writes the offline assets and stands in for Claude when it is unavailable."""

from pathlib import Path

from jiwa.llm.backends import (
    ChatBackend,
    Completion,
    LlamaCppBackend,
    LlamaServerBackend,
    LLMError,
    ModelFileError,
    embedded_model_path,
)
from jiwa.llm.structured import GenerationStats, StructuredLLM

__all__ = [
    "ChatBackend",
    "Completion",
    "GenerationStats",
    "LLMError",
    "LlamaCppBackend",
    "LlamaServerBackend",
    "ModelFileError",
    "StructuredLLM",
    "backend_from_settings",
    "configured_model_id",
    "embedded_model_path",
    "open_backend",
]


def open_backend(
    *,
    model_path: str = "",
    server_url: str = "",
    server_model: str = "",
    server_api_key: str | None = None,
    context_size: int = 4096,
    threads: int = 0,
    gpu_layers: int = 0,
    seed: int = 42,
    timeout_s: float = 300.0,
    repeat_penalty: float = 1.1,
) -> ChatBackend:
    """A llama.cpp server when a URL is given, else llama.cpp in this process."""
    if server_url:
        return LlamaServerBackend(
            server_url, model=server_model, api_key=server_api_key, timeout_s=timeout_s, repeat_penalty=repeat_penalty
        )
    return LlamaCppBackend(
        model_path,
        context_size=context_size,
        threads=threads,
        gpu_layers=gpu_layers,
        seed=seed,
        repeat_penalty=repeat_penalty,
    )


def backend_from_settings(settings) -> ChatBackend:
    """The backend the JIWA_LLM_* settings describe (the server's view; the pipeline configures its resource)."""
    import os

    return open_backend(
        model_path=settings.llm_model_path,
        server_url=settings.llm_server_url,
        server_model=settings.llm_server_model,
        server_api_key=os.environ.get("JIWA_LLM_SERVER_API_KEY") or None,
        context_size=settings.llm_context_size,
        threads=settings.llm_threads,
        gpu_layers=settings.llm_gpu_layers,
        seed=settings.llm_seed,
        timeout_s=settings.llm_timeout_s,
        repeat_penalty=settings.llm_repeat_penalty,
    )


def configured_model_id(settings) -> str:
    """The model the settings point at, without loading it: part of each LLM asset's code version."""
    if settings.llm_server_url:
        return settings.llm_server_model or "llama-server"
    if settings.llm_model_path:
        return Path(settings.llm_model_path).stem
    try:
        return embedded_model_path().stem
    except ModelFileError:
        return "missing-model"
