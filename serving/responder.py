"""Who writes the reply: Claude, else LLAMA locally, else a short honest fallback. `source` says which."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anthropic

from jiwa.claude_cache import CACHE_READ_PRICE, CACHE_WRITE_PRICE
from jiwa.domain.answers import ChatReply
from jiwa.domain.language import DEFAULT_LANGUAGE, supported
from jiwa.llm import StructuredLLM
from jiwa.prompts import Prompt
from jiwa.settings import Settings
from serving.breaker import CircuitBreaker
from serving.domain import Source
from serving.grounding import Grounding, data_block
from serving.local_pool import LocalPool
from serving.metrics import Metrics
from serving.primer import PrimerStore

log = logging.getLogger(__name__)

FALLBACK_REPLIES = {
    "it": "Scusami, in questo momento non riesco a rispondere bene. Il tuo messaggio è salvato: riprova tra qualche minuto.",
    "id": "Maaf, saat ini saya belum bisa menjawab dengan baik. Pesan Anda sudah tersimpan; coba lagi sebentar lagi ya.",
    "en": "Sorry, I can't answer properly right now. Your message is saved; please try again in a few minutes.",
}


@dataclass
class Reply:
    text: str
    source: Source
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def fallback_reply(language: str | None) -> Reply:
    return Reply(FALLBACK_REPLIES[supported(language) or DEFAULT_LANGUAGE], source="fallback")


class Responder:
    def __init__(
        self,
        settings: Settings,
        prompt: Prompt,
        metrics: Metrics,
        claude: anthropic.AsyncAnthropic | None,
        local: StructuredLLM | None,
        primer: PrimerStore | None = None,
    ) -> None:
        self.settings = settings
        self.prompt = prompt
        self.metrics = metrics
        self.claude = claude
        self.local = local
        self.primer = primer
        self.breaker = CircuitBreaker(settings.claude_breaker_failures, settings.claude_breaker_open_s)
        self.local_pool = LocalPool(settings.local_queue_limit, settings.local_timeout_s)

    def deadline(self) -> float:
        """When a turn starting now must be answered, on time.monotonic()."""
        return time.monotonic() + self.settings.turn_deadline_s

    def _verdict(self, answered: bool) -> None:
        if answered:
            self.breaker.success()
        else:
            self.breaker.failure()

    def _admitted_claude(self) -> anthropic.AsyncAnthropic | None:
        """Claude's client when a call may be made now: one is configured and the breaker admits the call."""
        if not self.claude:
            return None
        if self.breaker.allow():
            return self.claude
        self.metrics.responder_failures.labels("claude", "circuit_open").inc()
        return None

    @property
    def primary(self) -> str:
        return "claude" if self.claude else "local" if self.local else "fallback"

    def choose_model(self, message: str) -> str:
        threshold = self.settings.claude_complex_min_chars
        complex_message = threshold and (len(message) >= threshold or message.count("?") >= 3)
        return self.settings.claude_complex_model if complex_message else self.settings.claude_model

    def _claude_request(self, history: list[dict], message: str, grounding: Grounding) -> dict:
        fixed: list[dict[str, object]] = [{"type": "text", "text": self.prompt.system.strip()}]
        if self.primer is not None and self.primer.text:
            fixed.append({"type": "text", "text": self.primer.text})
        # The rules and the primer are the same for every request: the breakpoint after them lets Anthropic cache
        # both, once they pass the model's minimum (the primer is sized for it). The data block changes every turn.
        fixed[-1]["cache_control"] = {"type": "ephemeral", "ttl": self.settings.claude_cache_ttl}
        return {
            "model": self.choose_model(message),
            "max_tokens": self.settings.claude_max_tokens,
            "system": [*fixed, {"type": "text", "text": data_block(self.prompt, grounding)}],
            "messages": [*history, {"role": "user", "content": message}],
        }

    async def reply(self, history: list[dict], message: str, grounding: Grounding, deadline: float) -> Reply:
        # Retries are Jiwa's, not the SDK's: each one must be admitted by the breaker like any other call, so a
        # burst against a failing Claude does not double its calls.
        for _attempt in range(1 + self.settings.claude_max_retries):
            claude = self._admitted_claude()
            if claude is None:
                break
            answered = retry = False
            try:
                reply = await asyncio.wait_for(
                    self._claude(claude, history, message, grounding), deadline - time.monotonic()
                )
                answered = True
                return reply
            except Exception as exc:
                self._count_failure("claude", exc)
                retry = _retryable(exc) and deadline > time.monotonic()
            finally:
                # Also when the request is cancelled: a trial call must always leave a verdict.
                self._verdict(answered)
            if not retry:
                break
        return await self.local_or_fallback(history, message, grounding, deadline)

    async def stream(
        self, history: list[dict], message: str, grounding: Grounding, deadline: float
    ) -> AsyncIterator[str | Reply]:
        """Yields text deltas, then the final Reply. Falls back only if Claude fails before its first token."""
        claude = self._admitted_claude()
        if claude is not None:
            request = self._claude_request(history, message, grounding)
            parts: list[str] = []
            answered = False
            try:
                async with claude.messages.stream(**request) as stream:
                    chunks = stream.text_stream.__aiter__()
                    while True:
                        # The deadline bounds each wait for Claude, never the time the client takes to read.
                        try:
                            text = await asyncio.wait_for(anext(chunks), deadline - time.monotonic())
                        except StopAsyncIteration:
                            break
                        parts.append(text)
                        yield text
                    final = await asyncio.wait_for(stream.get_final_message(), max(0.1, deadline - time.monotonic()))
                if not parts:
                    raise ValueError("Claude streamed no text")
                answered = True
                yield self._record_claude(final, "".join(parts))
                return
            except Exception as exc:
                self._count_failure("claude", exc)
                if parts:
                    # Part of the answer already reached the client: end it honestly rather than start over.
                    yield Reply("".join(parts), source="claude", model=request["model"])
                    return
            finally:
                self._verdict(answered)
        reply = await self.local_or_fallback(history, message, grounding, deadline)
        yield reply.text
        yield reply

    async def _claude(
        self, claude: anthropic.AsyncAnthropic, history: list[dict], message: str, grounding: Grounding
    ) -> Reply:
        response = await claude.messages.create(**self._claude_request(history, message, grounding))
        text = "".join(block.text for block in response.content if getattr(block, "type", "") == "text").strip()
        if not text:
            raise ValueError("Claude returned no text")
        return self._record_claude(response, text)

    def _record_claude(self, response, text: str) -> Reply:
        usage = response.usage
        model = response.model
        input_tokens = int(usage.input_tokens or 0)
        output_tokens = int(usage.output_tokens or 0)
        cache_read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
        cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
        for kind, count in (
            ("input", input_tokens),
            ("output", output_tokens),
            ("cache_read", cache_read),
            ("cache_write", cache_write),
        ):
            if count:
                self.metrics.claude_tokens.labels(model, kind).inc(count)
        price = self.settings.claude_input_usd_per_mtok / 1e6
        priced_input = input_tokens + CACHE_READ_PRICE * cache_read + _write_cost(usage, cache_write, self.settings)
        cost = priced_input * price + output_tokens * self.settings.claude_output_usd_per_mtok / 1e6
        self.metrics.claude_cost.labels(model).inc(cost)
        self.metrics.claude_reply_cost.labels(model).observe(cost)
        self.metrics.claude_cache_saved.labels(model).inc((1 - CACHE_READ_PRICE) * cache_read * price)
        self.metrics.claude_prefix_cache.labels(
            model, "read" if cache_read else "write" if cache_write else "miss"
        ).inc()
        # The whole prompt, cached parts included, as clients count it (OpenAI's prompt_tokens); the cost is above.
        prompt_tokens = input_tokens + cache_read + cache_write
        return Reply(
            text.strip(), source="claude", model=model, input_tokens=prompt_tokens, output_tokens=output_tokens
        )

    async def local_or_fallback(
        self, history: list[dict], message: str, grounding: Grounding, deadline: float
    ) -> Reply:
        remaining = deadline - time.monotonic()
        local = self.local
        if local and remaining > 0:
            try:
                reply = await self.local_pool.run(lambda: self._local(local, history, message, grounding), remaining)
                if reply is not None:
                    return reply
                self.metrics.responder_failures.labels("local", "busy_or_timeout").inc()
            except Exception as exc:
                self._count_failure("local", exc)
        return fallback_reply(grounding.language)

    def _local(self, local: StructuredLLM, history: list[dict], message: str, grounding: Grounding) -> Reply:
        messages = [
            {"role": "system", "content": f"{self.prompt.system.strip()}\n\n{data_block(self.prompt, grounding)}"},
            *history,
            {"role": "user", "content": message},
        ]
        result = local.generate_from(self.prompt, ChatReply, messages, max_tokens=self.settings.local_max_tokens)
        if result is None:
            raise ValueError("LLAMA gave no valid reply")
        return Reply(result.reply, source="local", model=local.model_id)

    def _count_failure(self, responder: str, exc: Exception) -> None:
        reason = type(exc).__name__
        if isinstance(exc, anthropic.APIStatusError):
            reason = f"http_{exc.status_code}"
        self.metrics.responder_failures.labels(responder, reason).inc()
        log.warning("%s responder failed (%s): %s", responder, reason, str(exc)[:200])


def _write_cost(usage, cache_write: int, settings: Settings) -> float:
    """Cache-write tokens in input tokens' worth: by time to live where Anthropic breaks them down, else all at the
    configured one."""
    split = getattr(usage, "cache_creation", None)
    if split is None:
        return CACHE_WRITE_PRICE[settings.claude_cache_ttl] * cache_write
    return CACHE_WRITE_PRICE["5m"] * (split.ephemeral_5m_input_tokens or 0) + CACHE_WRITE_PRICE["1h"] * (
        split.ephemeral_1h_input_tokens or 0
    )


def _retryable(exc: Exception) -> bool:
    """What the Anthropic SDK itself would retry: the connection, a timeout, 408, 409, 429 and 5xx."""
    if isinstance(exc, anthropic.APIConnectionError):  # APITimeoutError included
        return True
    return isinstance(exc, anthropic.APIStatusError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500)
