"""Everything the server needs, opened once in the lifespan and kept on app.state; handlers never get it whole:
serving/dependencies.py hands each the one piece of it that it uses."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from functools import partial

import anthropic
import lancedb

from jiwa.conversations.legacy_log import import_legacy_log
from jiwa.conversations.repository import ConversationRepository
from jiwa.llm import LlamaBuildBroken, LLMError, StructuredLLM, open_structured
from jiwa.prompts import load_prompt
from jiwa.settings import Settings
from jiwa.store.lance import connect
from jiwa.store.memory_index import Relevance
from serving.auth import ApiKeys, RateLimiter
from serving.chat import ChatService
from serving.conversations import ConversationStore
from serving.insights import InsightIndex
from serving.memory import Fading
from serving.metrics import Metrics
from serving.primer import PrimerStore
from serving.profiles import ProfileStore
from serving.published import refresh_forever
from serving.responder import Responder
from serving.response_cache import ResponseCache
from serving.withheld import Withheld

log = logging.getLogger(__name__)


@dataclass
class StoreHealth:
    """What /ready and /metrics report: each store's status, and who answers."""

    repository: ConversationRepository
    insights: InsightIndex
    cache: ResponseCache
    profiles: ProfileStore
    primer: PrimerStore
    responder: Responder

    def published(self) -> dict[str, dict]:
        """The status of each store the nightly job publishes, by its name in /ready."""
        return {
            "cultural_insights": self.insights.status(),
            "common_response_cache": self.cache.status(),
            "jiwa_profiles": self.profiles.status(),
            # Missing before its first publication: Claude still answers, uncached, so the server stays ready.
            "cultural_primer": self.primer.status(),
        }


@dataclass
class Services:
    settings: Settings
    api_keys: ApiKeys
    rate_limiter: RateLimiter
    metrics: Metrics
    repository: ConversationRepository
    conversations: ConversationStore
    insights: InsightIndex
    cache: ResponseCache
    profiles: ProfileStore
    primer: PrimerStore
    responder: Responder
    chat: ChatService
    claude: anthropic.AsyncAnthropic | None
    db: lancedb.DBConnection
    background: list[asyncio.Task]

    @property
    def health(self) -> StoreHealth:
        return StoreHealth(self.repository, self.insights, self.cache, self.profiles, self.primer, self.responder)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        # Partial replies of clients that left mid-stream are still being stored: they finish first.
        await asyncio.gather(*list(self.chat.pending), return_exceptions=True)
        self.repository.close()
        self.responder.local_pool.close()
        if self.responder.local is not None:
            await asyncio.to_thread(self.responder.local.close)
        if self.claude is not None:
            await self.claude.close()


def claude_client(settings: Settings) -> anthropic.AsyncAnthropic | None:
    api_key = os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        log.warning("ANTHROPIC_API_KEY is not set: LLAMA answers locally")
        return None
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=settings.anthropic_base_url or None,
        timeout=settings.claude_timeout_s,
        # The responder retries, through the circuit breaker (serving/responder.py).
        max_retries=0,
    )


def local_llm(settings: Settings) -> StructuredLLM | None:
    """LLAMA for local replies, its worker started and proven; None when it cannot run here (the server goes on)."""
    if not settings.local_responder:
        return None
    try:
        # Cooler and fewer retries than the pipeline: a user is waiting.
        return open_structured(settings.llm, temperature=0.5, max_retries=1)
    except LlamaBuildBroken as exc:
        log.error("local replies are off: %s", exc)
    except LLMError as exc:
        log.error("local replies are off: LLAMA could not start: %s", exc)
    return None


async def open_services(settings: Settings, repository: ConversationRepository | None = None) -> Services:
    api_keys = ApiKeys(settings.api_keys, settings.host)
    metrics = Metrics()
    if repository is None:
        repository = await asyncio.to_thread(
            partial(ConversationRepository.open, allow_empty=settings.conversations_allow_empty),
            settings.conversations_db,
        )
    await asyncio.to_thread(import_legacy_log, settings.data_uri, repository)
    conversations = ConversationStore(repository)
    embedder = await asyncio.to_thread(settings.embedding.open)
    withheld = Withheld(settings.data_uri)
    insights = InsightIndex(
        settings.data_uri,
        embedder,
        withheld,
        Relevance(settings.retrieval_min_similarity, settings.retrieval_max_gap),
    )
    profiles = ProfileStore(settings.data_uri, settings.profile_prompt_chars, repository, Fading.of(settings))
    cache = ResponseCache(settings.data_uri, embedder, insights.queries, withheld, settings.facts_review_date)
    responder_prompt = load_prompt("responder")
    primer = PrimerStore(settings.data_uri, settings, responder_prompt.system.strip())
    # What feedback withheld first, so the stores built from it see the same scores.
    for store in (withheld, insights, profiles, cache, primer):
        try:
            await asyncio.to_thread(store.refresh)
        except Exception as exc:  # a damaged table must not stop the server: /ready names it, the refresh retries
            log.error("%s could not be loaded: %s", type(store).__name__, str(exc).splitlines()[0][:300])
    claude = claude_client(settings)
    local = await asyncio.to_thread(local_llm, settings)
    metrics.local_responder_up.set(1 if local is not None else 0)
    responder = Responder(settings, responder_prompt, metrics, claude, local, primer)
    chat = ChatService(settings, conversations, cache, insights, profiles, responder, metrics)
    background = [
        asyncio.create_task(refresh_forever([withheld, insights, profiles, cache, primer], settings.store_refresh_s)),
    ]
    return Services(
        settings=settings,
        api_keys=api_keys,
        rate_limiter=RateLimiter(settings.rate_limit_per_minute),
        metrics=metrics,
        repository=repository,
        conversations=conversations,
        insights=insights,
        cache=cache,
        profiles=profiles,
        primer=primer,
        responder=responder,
        chat=chat,
        claude=claude,
        db=connect(settings.data_uri),
        background=background,
    )
