"""What the responder is grounded in: the cache lookup, insight retrieval and profile lookup steps.

Each step reads stores the pipeline publishes and works, returning nothing, before they are materialized.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import lancedb

from jiwa.embedding import Embedder, EmbeddingMismatchError
from jiwa.store.insights import InsightHit, search_insights
from jiwa.store.lance import open_vector_table
from jiwa.store.schema import INSIGHTS_TABLE

log = logging.getLogger(__name__)


class InsightIndex:
    """The published cultural-insights table; LanceDB re-reads the latest committed version every refresh_s."""

    def __init__(self, data_uri: str, embedder: Embedder, refresh_s: float) -> None:
        self._db = lancedb.connect(data_uri, read_consistency_interval=timedelta(seconds=refresh_s))
        self._embedder = embedder
        self._table = None
        self.error: str | None = None

    def refresh(self) -> None:
        """Open the table once it exists; later versions arrive through read consistency."""
        if self._table is not None:
            return
        if INSIGHTS_TABLE not in self._db.table_names():
            return
        try:
            self._table = open_vector_table(self._db, INSIGHTS_TABLE, self._embedder)
            self.error = None
        except EmbeddingMismatchError as exc:
            self.error = str(exc)
            log.error("insights not served: %s", exc)

    def search(self, message: str, k: int) -> list[InsightHit]:
        table = self._table
        if table is None:
            return []
        return search_insights(table, self._embedder.embed_one(message), message, k)

    def status(self) -> dict:
        if self._table is None:
            return {"loaded": False, "error": self.error}
        return {"loaded": True, "version": self._table.version, "rows": self._table.count_rows()}


@dataclass(frozen=True)
class CachedAnswer:
    intent: str
    reply: str


class ResponseCache:
    """Lookup step for the pre-written answers of the common_response_cache asset; none is published yet."""

    def status(self) -> dict:
        return {"loaded": False}

    async def lookup(self, message: str, language: str | None, profile: dict | None) -> CachedAnswer | None:
        return None


class ProfileStore:
    """Lookup step for the JIWA memory profiles of the jiwa_profiles asset; none is published yet."""

    def status(self) -> dict:
        return {"loaded": False}

    async def lookup(self, tenant: str, user_id: str) -> dict | None:
        return None


async def refresh_forever(index: InsightIndex, every_s: float) -> None:
    while True:
        try:
            await asyncio.to_thread(index.refresh)
        except Exception:  # a bad store must never take the server down; /ready shows it
            log.exception("refreshing the insight store failed")
        await asyncio.sleep(every_s)
