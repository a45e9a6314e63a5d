"""Ways to reach LLAMA: llama.cpp in this process, or a llama.cpp server over HTTP."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from jiwa.llm.config import LlamaSettings
from jiwa.llm.model_files import LLMError, resolve_model_path


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int


class ChatBackend(Protocol):
    model_id: str

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        seed: int,
    ) -> Completion: ...


class LlamaCppBackend:
    """llama.cpp loaded in this process."""

    def __init__(self, settings: LlamaSettings) -> None:
        from llama_cpp import Llama

        path = resolve_model_path(settings.model_path)
        self.model_id = path.stem
        self._repeat_penalty = settings.repeat_penalty
        self._llama = Llama(
            model_path=str(path),
            n_ctx=settings.context_size,
            n_threads=settings.threads or os.cpu_count(),
            n_gpu_layers=settings.gpu_layers,
            seed=settings.seed,
            verbose=False,
        )
        # A Llama object holds one KV cache, so concurrent callers must take turns.
        self._lock = threading.Lock()

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        response_format = {"type": "json_object", "schema": json_schema} if json_schema else None
        with self._lock:
            result = self._llama.create_chat_completion(
                messages=messages,
                response_format=response_format,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                repeat_penalty=self._repeat_penalty,
            )
        usage = result.get("usage") or {}
        return Completion(
            text=result["choices"][0]["message"]["content"] or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def raw_token_rate(self, prompt: str, max_tokens: int) -> tuple[int, float]:
        """Unconstrained generation, for comparing against the structured path: (tokens, seconds)."""
        with self._lock:
            started = time.perf_counter()
            result = self._llama.create_completion(prompt, max_tokens=max_tokens, temperature=0.0)
            elapsed = time.perf_counter() - started
        return int(result["usage"]["completion_tokens"]), elapsed


class LlamaServerBackend:
    """An OpenAI-compatible llama.cpp server (llama-server or llama_cpp.server), e.g. on a GPU box."""

    def __init__(self, settings: LlamaSettings) -> None:
        self.model_id = settings.server_model or "llama-server"
        self._repeat_penalty = settings.repeat_penalty
        api_key = settings.server_api_key.get_secret_value() if settings.server_api_key else None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = settings.server_model
        self._client = httpx.Client(
            base_url=settings.server_url.rstrip("/"), headers=headers, timeout=settings.timeout_s
        )

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "repeat_penalty": self._repeat_penalty,
        }
        if self._model:
            body["model"] = self._model
        if json_schema:
            body["response_format"] = {"type": "json_object", "schema": json_schema}
        try:
            response = self._client.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            payload = response.json()
        except httpx.HTTPError as exc:
            raise LLMError(
                f"llama.cpp server at {self._client.base_url} failed: {exc}. Check JIWA_LLM_SERVER_URL and that the server is up."
            ) from exc
        usage = payload.get("usage") or {}
        return Completion(
            text=payload["choices"][0]["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def close(self) -> None:
        self._client.close()
