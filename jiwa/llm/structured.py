"""Schema-constrained generation: every output is validated by the model that produced its schema, retried, or dropped and counted."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from jiwa.llm.backends import ChatBackend
from jiwa.prompts import Prompt, PromptError

log = logging.getLogger(__name__)

Output = TypeVar("Output", bound=BaseModel)

# The raw-decode probe at the start of each LLM step: plain completion, no chat template, no grammar.
RAW_PROBE_PROMPT = "Notes for someone moving to Bali, on the island's customs, visas and daily life:\n"
RAW_PROBE_TOKENS = 64


@dataclass
class GenerationStats:
    calls: int = 0
    accepted: int = 0
    dropped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Of prompt_tokens, those llama.cpp evaluated; the rest came from its cache of the previous prompt's prefix.
    # Counted only over calls whose backend reports it (prompt_tokens_counted of the prompt tokens).
    prompt_tokens_evaluated: int = 0
    prompt_tokens_counted: int = 0
    # Of completion_tokens, the schema's fixed text that was evaluated in batches instead of decoded one by one.
    completion_tokens_batched: int = 0
    seconds: float = 0.0  # summed over calls: with several in flight, more than the time they took
    busy_seconds: float = 0.0  # wall-clock time with at least one call in flight
    raw_tokens_per_second: float | None = None  # the same model's unconstrained decode rate, measured in this run
    rejections: Counter = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return sum(self.rejections.values())

    @property
    def prompt_tokens_reused(self) -> int:
        return self.prompt_tokens_counted - self.prompt_tokens_evaluated

    @property
    def tokens_per_second(self) -> float:
        """Completion tokens per wall-clock second of generation, all calls in flight together."""
        seconds = self.busy_seconds or self.seconds
        return self.completion_tokens / seconds if seconds else 0.0

    @property
    def over_raw(self) -> float | None:
        if not self.raw_tokens_per_second:
            return None
        return self.tokens_per_second / self.raw_tokens_per_second

    def rate_metadata(self) -> dict[str, float | int | None]:
        """What every LLM asset reports: its rate beside the raw decode rate of the same model in the same run."""
        return {
            "tokens_per_s": round(self.tokens_per_second, 1),
            "raw_tokens_per_s": round(self.raw_tokens_per_second, 1) if self.raw_tokens_per_second else None,
            "over_raw": round(self.over_raw, 3) if self.over_raw is not None else None,
            "llm_calls": self.calls,
            "llm_busy_s": round(self.busy_seconds, 1),
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "prompt_tokens_reused": self.prompt_tokens_reused,
            "completion_tokens_batched": self.completion_tokens_batched,
        }


class StructuredLLM:
    """Wraps a backend so callers get validated objects or None, never half-valid output."""

    def __init__(self, backend: ChatBackend, *, temperature: float = 0.7, seed: int = 42, max_retries: int = 2) -> None:
        self.backend = backend
        self.temperature = temperature
        self.seed = seed
        self.max_retries = max_retries
        self.stats = GenerationStats()
        self._stats_lock = threading.Lock()
        self._in_flight = 0
        self._busy_since = 0.0

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    def measure_raw_rate(self, tokens: int = RAW_PROBE_TOKENS) -> float | None:
        """The backend's unconstrained decode rate (tokens/s), kept in stats; None where the backend cannot say."""
        probe = getattr(self.backend, "raw_token_rate", None)
        if probe is None:
            return None
        produced, seconds = probe(RAW_PROBE_PROMPT, max_tokens=tokens)
        rate = produced / seconds if seconds > 0 and produced else None
        with self._stats_lock:
            self.stats.raw_tokens_per_second = rate
        return rate

    def close(self) -> None:
        """Releases the backend: the worker process or the HTTP client."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    def generate(self, prompt: Prompt, output: type[Output], *, variant: int = 0, **variables: object) -> Output | None:
        """An `output` written for the prompt (which must name that model), or None when every attempt failed it."""
        return self.generate_from(prompt, output, prompt.render(**variables), variant=variant)

    def generate_from(
        self,
        prompt: Prompt,
        output: type[Output],
        messages: list[dict[str, str]],
        *,
        variant: int = 0,
        max_tokens: int | None = None,
    ) -> Output | None:
        """Generate for ready-made messages (e.g. a chat history) under the prompt's output model."""
        model = prompt.output_model
        if model is None:
            raise PromptError(f"Prompt '{prompt.name}' names no output model, so its output cannot be validated.")
        if model is not output:
            raise PromptError(f"Prompt '{prompt.name}' writes {model.__name__}, not the {output.__name__} asked for.")
        schema = output.model_json_schema()
        for attempt in range(self.max_retries + 1):
            started = self._call_started()
            try:
                completion = self.backend.complete(
                    messages,
                    json_schema=schema,
                    max_tokens=max_tokens or prompt.max_tokens,
                    temperature=self.temperature,
                    # A retry with the same seed would repeat the same invalid output.
                    seed=self.seed + variant * 101 + attempt,
                )
            finally:
                self._call_ended(started)
            with self._stats_lock:
                self.stats.calls += 1
                self.stats.prompt_tokens += completion.prompt_tokens
                self.stats.completion_tokens += completion.completion_tokens
                if completion.prompt_tokens_evaluated is not None:
                    self.stats.prompt_tokens_evaluated += completion.prompt_tokens_evaluated
                    self.stats.prompt_tokens_counted += completion.prompt_tokens
                if completion.completion_tokens_decoded is not None:
                    self.stats.completion_tokens_batched += max(
                        0, completion.completion_tokens - completion.completion_tokens_decoded
                    )
            try:
                result = _parse(output, completion.text)
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

    def _call_started(self) -> float:
        now = time.perf_counter()
        with self._stats_lock:
            if self._in_flight == 0:
                self._busy_since = now
            self._in_flight += 1
        return now

    def _call_ended(self, started: float) -> None:
        now = time.perf_counter()
        with self._stats_lock:
            self.stats.seconds += now - started
            self._in_flight -= 1
            if self._in_flight == 0:
                self.stats.busy_seconds += now - self._busy_since


def _parse(model: type[Output], text: str) -> Output:
    # llama.cpp's grammar lets raw newlines into JSON strings; strict=False accepts them instead of wasting a retry.
    return model.model_validate(json.loads(text, strict=False))


def _rejection_reason(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return "invalid_json"
    kinds = {error["type"] for error in exc.errors()}
    return "invalid_json" if "json_invalid" in kinds else "schema"
