"""Tables the pipeline publishes, watched by the server's in-memory stores, and the loop that refreshes them."""

import asyncio
import logging

from jiwa.embedding import Embedder, EmbeddingMismatchError
from jiwa.store.lance import connect, open_vector_table

log = logging.getLogger(__name__)


class PublishedTable:
    """Opened once it exists (refused if another embedder wrote its vectors); reports newly committed versions."""

    def __init__(self, data_uri: str, name: str, embedder: Embedder | None = None) -> None:
        self.db = connect(data_uri)
        self.name = name
        self._embedder = embedder
        self._table = None
        self.error: str | None = None

    def newer_than(self, version: int | None):
        """The table at its latest version if that is not `version`; None when there is nothing new to load."""
        if self._table is None:
            if self.name not in self.db.table_names():
                return None
            try:
                self._table = (
                    open_vector_table(self.db, self.name, self._embedder)
                    if self._embedder
                    else self.db.open_table(self.name)
                )
                self.error = None
            except EmbeddingMismatchError as exc:
                self.error = str(exc)
                log.error("%s not served: %s", self.name, exc)
                return None
        self._table.checkout_latest()
        return None if self._table.version == version else self._table


async def refresh_forever(stores: list, every_s: float) -> None:
    """Pick up versions the pipeline publishes; each store swaps in a new snapshot whole."""
    while True:
        for store in stores:
            try:
                await asyncio.to_thread(store.refresh)
            except Exception:  # a bad store must never take the server down; /ready shows it
                log.exception("refreshing %s failed", type(store).__name__)
        await asyncio.sleep(every_s)
