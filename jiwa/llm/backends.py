"""Ways to reach LLAMA: llama.cpp in this process, or a llama.cpp server over HTTP."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from jiwa.llm.config import LlamaSettings
from jiwa.llm.model_files import LLMError, resolve_model_path
from jiwa.llm.skeleton import walkable

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestResponseFormat


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    # Prompt tokens llama.cpp actually evaluated: fewer than prompt_tokens when it reused the cached prefix of the
    # previous prompt (None: the backend does not say).
    prompt_tokens_evaluated: int | None = None
    # Of completion_tokens, those decoded one by one; the schema's fixed text was evaluated in batches (None: the
    # backend decoded them all, or does not say).
    completion_tokens_decoded: int | None = None


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
        from jiwa.llm.sampling import GrammarFirstLlama

        path = resolve_model_path(settings.model_path)
        self.model_id = path.stem
        self._repeat_penalty = settings.repeat_penalty
        threads = settings.threads or os.cpu_count()
        # One Llama for the backend's life: it keeps the KV cache of the last prompt and evaluates only what
        # differs from it, so a prompt sharing its system part with the previous one skips that part.
        self._llama = GrammarFirstLlama(
            model_path=str(path),
            n_ctx=settings.context_size,
            # Prompts too: llama-cpp-python evaluates them on every core unless told, whatever n_threads says.
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=settings.gpu_layers,
            seed=settings.seed,
            verbose=False,
        )
        # A Llama object holds one KV cache, so concurrent callers must take turns.
        self._lock = threading.Lock()
        self._chat_format = _chat_formatter(self._llama) if settings.jump_forward else None

    @property
    def threads(self) -> tuple[int, int]:
        """The threads llama.cpp's context decodes and evaluates prompts with, as it reports them."""
        import llama_cpp

        context = self._llama.ctx
        return llama_cpp.llama_n_threads(context), llama_cpp.llama_n_threads_batch(context)

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        if json_schema and self._chat_format is not None and walkable(json_schema):
            return self._complete_json(messages, json_schema, max_tokens, temperature, seed)
        response_format: ChatCompletionRequestResponseFormat | None = (
            {"type": "json_object", "schema": json_schema} if json_schema else None
        )
        with self._lock:
            evaluated_before = self._prompt_tokens_evaluated()
            result = self._llama.create_chat_completion(
                messages=messages,
                response_format=response_format,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                repeat_penalty=self._repeat_penalty,
            )
            evaluated = self._prompt_tokens_evaluated() - evaluated_before
        if isinstance(result, Iterator):
            raise LLMError("llama.cpp streamed a completion that was asked for whole")
        # llama-cpp-python counts the usage of every whole completion.
        usage = result["usage"]
        return Completion(
            text=result["choices"][0]["message"]["content"] or "",
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            prompt_tokens_evaluated=evaluated,
        )

    def _complete_json(self, messages, schema, max_tokens, temperature, seed) -> Completion:
        """The output written around its schema's fixed text (GrammarFirstLlama.fill_schema)."""
        assert self._chat_format is not None
        formatted = self._chat_format(messages=messages)
        prompt = self._llama.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        with self._lock:
            filled = self._llama.fill_schema(
                prompt,
                schema,
                max_tokens=max_tokens,
                seed=seed,
                prompt_evaluated=self._prompt_tokens_evaluated,
                temperature=temperature,
                repeat_penalty=self._repeat_penalty,
            )
        return Completion(
            text=filled.text,
            prompt_tokens=len(prompt),
            completion_tokens=filled.tokens,
            prompt_tokens_evaluated=filled.prompt_evaluated,
            completion_tokens_decoded=filled.decoded,
        )

    def _prompt_tokens_evaluated(self) -> int:
        """llama.cpp's own count of prompt tokens it has evaluated in batches (not the ones it decoded one by one)."""
        from llama_cpp import llama_cpp

        return int(llama_cpp.llama_perf_context(self._llama._ctx.ctx).n_p_eval)

    def raw_token_rate(self, prompt: str, max_tokens: int) -> tuple[int, float]:
        """Unconstrained generation, for comparing against the structured path: (tokens, seconds)."""
        with self._lock:
            started = time.perf_counter()
            result = self._llama.create_completion(prompt, max_tokens=max_tokens, temperature=0.0)
            elapsed = time.perf_counter() - started
        if isinstance(result, Iterator):
            raise LLMError("llama.cpp streamed a completion that was asked for whole")
        return int(result["usage"]["completion_tokens"]), elapsed


def _chat_formatter(llama):
    """The GGUF's own chat template, as llama-cpp-python applies it; None for a model that has none (its chat then
    goes through llama-cpp-python's default format, whole)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template or llama.chat_format != "chat_template.default":
        return None
    token_text = llama._model.token_get_text
    return Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()) if llama.token_eos() != -1 else "",
        bos_token=token_text(llama.token_bos()) if llama.token_bos() != -1 else "",
        stop_token_ids=[llama.token_eos()],
    )


class LlamaServerBackend:
    """An OpenAI-compatible llama.cpp server (llama-server or llama_cpp.server), e.g. on a GPU box."""

    def __init__(self, settings: LlamaSettings) -> None:
        self.model_id = settings.server_model or "llama-server"
        self._repeat_penalty = settings.repeat_penalty
        api_key = settings.server_api_key.get_secret_value() if settings.server_api_key else None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = settings.server_model
        # Each calling thread keeps to one of the server's parallel slots, whose KV cache then holds that thread's
        # previous prompt: with cache_prompt the server evaluates only what differs from it.
        self._slots = settings.concurrency
        self._next_slot = 0
        self._thread_slot = threading.local()
        self._slot_lock = threading.Lock()
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
            # llama-server: keep the slot's KV cache and evaluate only the part of the prompt that differs.
            "cache_prompt": True,
        }
        if self._slots > 1:
            body["id_slot"] = self._slot()
        if self._model:
            body["model"] = self._model
        if json_schema:
            body["response_format"] = {"type": "json_object", "schema": json_schema}
        payload = self._post("/v1/chat/completions", body)
        usage = payload.get("usage") or {}
        timings = payload.get("timings") or {}
        return Completion(
            text=payload["choices"][0]["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            # llama-server reports the prompt tokens it evaluated; llama_cpp.server does not.
            prompt_tokens_evaluated=int(timings["prompt_n"]) if "prompt_n" in timings else None,
        )

    def raw_token_rate(self, prompt: str, max_tokens: int) -> tuple[int, float]:
        """Unconstrained completion on the server, timed here: (tokens, seconds)."""
        body: dict[str, Any] = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0}
        if self._model:
            body["model"] = self._model
        started = time.perf_counter()
        payload = self._post("/v1/completions", body)
        elapsed = time.perf_counter() - started
        return int((payload.get("usage") or {}).get("completion_tokens", 0)), elapsed

    def _slot(self) -> int:
        slot = getattr(self._thread_slot, "slot", None)
        if slot is None:
            with self._slot_lock:
                slot = self._thread_slot.slot = self._next_slot % self._slots
                self._next_slot += 1
        return slot

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
            response.raise_for_status()
            return response.json()
        except httpx.HTTPError as exc:
            raise LLMError(
                f"llama.cpp server at {self._client.base_url} failed: {exc}. Check JIWA_LLM_SERVER_URL and that the server is up."
            ) from exc

    def close(self) -> None:
        self._client.close()
