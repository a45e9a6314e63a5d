"""Tables the pipeline publishes, watched by the server's in-memory stores, and the loop that refreshes them."""

from __future__ import annotations

import asyncio
import logging

import lancedb

from jiwa.embedding import Embedder, EmbeddingMismatchError
from jiwa.store.lance import connect, open_vector_table

log = logging.getLogger(__name__)


class PublishedTable:
    """Opened once it exists (refused if another embedder wrote its vectors); reports newly committed versions."""

    def __init__(self, data_uri: str, name: str, embedder: Embedder | None = None) -> None:
        self.db = connect(data_uri)
        self.name = name
        self._embedder = embedder
        self._table: lancedb.Table | None = None
        self.error: str | None = None
        self.missing = False

    def newer_than(self, version: int | None) -> lancedb.Table | None:
        """The table at its latest version if that is not `version`; None when there is nothing new to load."""
        present = self.name in self.db.table_names()
        if not present and not self.missing:
            # Said once per disappearance: before its first publication, or deleted under a running server.
            log.warning(
                "%s does not exist in the data folder: nothing of it is served until it is published", self.name
            )
        self.missing = not present
        if not present:
            self._table = None
            return None
        try:
            if self._table is None:
                self._table = (
                    open_vector_table(self.db, self.name, self._embedder)
                    if self._embedder
                    else self.db.open_table(self.name)
                )
            table = self._table
            table.checkout_latest()
        except EmbeddingMismatchError as exc:
            self._unusable(str(exc))
            return None
        except Exception as exc:  # a damaged table: named, with what to do, and tried again at the next refresh
            self._unusable(
                f"{self.name} cannot be read ({str(exc).splitlines()[0][:200]}): restore the data folder from a "
                f"backup, or delete {self.name}.lance and publish it again from the Dagster UI"
            )
            return None
        self.error = None
        return None if table.version == version else table

    def _unusable(self, error: str) -> None:
        if error != self.error:  # one line per new problem, not one per refresh
            log.error("%s not served: %s", self.name, error)
        self.error, self._table = error, None


async def refresh_forever(stores: list, every_s: float) -> None:
    """Pick up versions the pipeline publishes; each store swaps in a new snapshot whole. The stores are refreshed
    one after another in one worker-thread call: one hop off the event loop per round rather than one per store."""
    while True:
        await asyncio.to_thread(refresh_all, stores)
        await asyncio.sleep(every_s)


def refresh_all(stores: list) -> None:
    for store in stores:
        try:
            store.refresh()
        except Exception:  # a bad store must never take the server down; /ready shows it
            log.exception("refreshing %s failed", type(store).__name__)
