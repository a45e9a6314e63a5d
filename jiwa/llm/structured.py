"""Schema-constrained generation: every output is validated by the model that produced its schema, retried, or dropped and counted."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from jiwa.llm.backends import ChatBackend
from jiwa.prompts import Prompt, PromptError

log = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    calls: int = 0
    accepted: int = 0
    dropped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    rejections: Counter = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return sum(self.rejections.values())

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


class StructuredLLM:
    """Wraps a backend so callers get validated objects or None, never half-valid output."""

    def __init__(self, backend: ChatBackend, *, temperature: float = 0.7, seed: int = 42, max_retries: int = 2) -> None:
        self.backend = backend
        self.temperature = temperature
        self.seed = seed
        self.max_retries = max_retries
        self.stats = GenerationStats()
        self._stats_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    def close(self) -> None:
        """Releases the backend: the worker process or the HTTP client."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    def generate(self, prompt: Prompt, *, variant: int = 0, **variables: object) -> BaseModel | None:
        return self.generate_from(prompt, prompt.render(**variables), variant=variant)

    def generate_from(
        self, prompt: Prompt, messages: list[dict[str, str]], *, variant: int = 0, max_tokens: int | None = None
    ) -> BaseModel | None:
        """Generate for ready-made messages (e.g. a chat history) under the prompt's output model."""
        model = prompt.output_model
        if model is None:
            raise PromptError(f"Prompt '{prompt.name}' names no output model, so its output cannot be validated.")
        schema = model.model_json_schema()
        for attempt in range(self.max_retries + 1):
            started = time.perf_counter()
            completion = self.backend.complete(
                messages,
                json_schema=schema,
                max_tokens=max_tokens or prompt.max_tokens,
                temperature=self.temperature,
                # A retry with the same seed would repeat the same invalid output.
                seed=self.seed + variant * 101 + attempt,
            )
            with self._stats_lock:
                self.stats.calls += 1
                self.stats.seconds += time.perf_counter() - started
                self.stats.prompt_tokens += completion.prompt_tokens
                self.stats.completion_tokens += completion.completion_tokens
            try:
                result = _parse(model, completion.text)
            except (ValidationError, ValueError) as exc:
                reason = _rejection_reason(exc)
                with self._stats_lock:
                    self.stats.rejections[reason] += 1
                # The reason and the size only: an output can carry the words of the user it was written about.
                log.debug(
                    "%s output rejected (%s), attempt %d, %d characters",
                    prompt.name,
                    reason,
                    attempt + 1,
                    len(completion.text),
                )
                continue
            with self._stats_lock:
                self.stats.accepted += 1
            return result
        with self._stats_lock:
            self.stats.dropped += 1
        log.warning("%s output dropped after %d attempts", prompt.name, self.max_retries + 1)
        return None


def _parse(model: type[BaseModel], text: str) -> BaseModel:
    # llama.cpp's grammar lets raw newlines into JSON strings; strict=False accepts them instead of wasting a retry.
    return model.model_validate(json.loads(text, strict=False))


def _rejection_reason(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return "invalid_json"
    kinds = {error["type"] for error in exc.errors()}
    return "invalid_json" if "json_invalid" in kinds else "schema"
