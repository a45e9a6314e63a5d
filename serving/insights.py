"""The retrieval step: query embeddings shared by the steps that need them, and the in-memory insights snapshot.

Each step reads stores the pipeline publishes and works, returning nothing, before they are materialized.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import numpy as np

from jiwa.embedding import Embedder
from jiwa.store.insights import InsightHit
from jiwa.store.memory_index import EVERY_HIT, MemoryIndex, Relevance
from jiwa.store.schema import INSIGHTS_TABLE, LEARNED_TABLE
from serving.published import PublishedTable
from serving.withheld import Withheld

log = logging.getLogger(__name__)


class QueryEmbedder:
    """Embeds request messages: an LRU cache for repeated messages, and concurrent requests share one batch.

    The batch is embedded in a worker thread. Embedding it on the event loop instead was measured (bench/
    server_load.py, open loop on a shared 2-core machine) to be slower at p50 and p99: the loop's one OS thread then
    does all the CPU work, while a worker thread is scheduled beside it."""

    def __init__(self, embedder: Embedder, cache_size: int = 4096, max_batch: int = 64) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future]] = []
        self._draining = False

    async def embed(self, text: str) -> np.ndarray:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        future = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                # The same message sent twice at once (a retry) is embedded once.
                texts = list(dict.fromkeys(text for text, _ in batch))
                try:
                    vectors = await asyncio.to_thread(self.embedder.embed, texts)
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                by_text = dict(zip(texts, vectors, strict=True))
                for text, future in batch:
                    # A request cancelled while it waited (its client gone) has a done future: setting it would
                    # raise here and leave the rest of the batch waiting for ever.
                    if not future.done():
                        future.set_result(by_text[text])
                for text, vector in by_text.items():
                    self._cache[text] = vector
                    self._cache.move_to_end(text)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        finally:
            self._draining = False


class InsightIndex:
    """The served knowledge in memory: the latest cultural_insights and learned_insights versions, less what feedback
    withheld; swapped whole when any of them changes."""

    def __init__(self, data_uri: str, embedder: Embedder, withheld: Withheld, relevance: Relevance = EVERY_HIT) -> None:
        self.queries = QueryEmbedder(embedder)
        self.relevance = relevance
        self._published = PublishedTable(data_uri, INSIGHTS_TABLE, embedder)
        self._learned = PublishedTable(data_uri, LEARNED_TABLE, embedder)
        self._withheld = withheld
        self._snapshot: MemoryIndex | None = None

    def refresh(self) -> None:
        """Load newer committed versions if the pipeline published any; readers keep the old snapshot meanwhile."""
        current = self._snapshot.version if self._snapshot else (None, None, None)
        table = self._published.newer_than(None)
        if table is None:
            if self._published.missing:
                self._snapshot = None  # deleted under us: serve nothing rather than what it no longer holds
            return
        learned = self._learned.newer_than(None)
        version = (table.version, learned.version if learned is not None else None, self._withheld.version)
        if version != current:
            snapshot = MemoryIndex.from_tables(table, learned, self._withheld.ids, version)
            self._snapshot = snapshot
            log.info("serving knowledge versions %s (%d rows)", version, snapshot.size)

    @property
    def error(self) -> str | None:
        return self._published.error or self._learned.error

    async def search(self, message: str, k: int, tenant: str | None = None) -> list[InsightHit]:
        snapshot = self._snapshot
        if snapshot is None:
            return []
        return snapshot.search(await self.queries.embed(message), message, k, tenant=tenant, relevance=self.relevance)

    def status(self) -> dict:
        snapshot = self._snapshot
        if self._published.missing:
            return {
                "loaded": False,
                "missing": True,
                "error": f"{INSIGHTS_TABLE} does not exist: replies are grounded in no insight. Publish the curated "
                "base (python -m pipelines.bootstrap, or materialize curated_insights in the Dagster UI).",
            }
        if snapshot is None:
            return {"loaded": False, "missing": False, "error": self.error}
        return {"loaded": True, "missing": False, "version": snapshot.version[0], "rows": snapshot.size}
