"""What feedback withheld, per tenant: insights and cached answers that several distinct users of a tenant rated
down, as the pipeline's feedback_scores asset last scored them. The insight index and the response cache leave them
out of that tenant's replies."""

from __future__ import annotations

import logging

from jiwa.store.learned import withheld_ids
from jiwa.store.schema import FEEDBACK_TABLE
from serving.published import PublishedTable

log = logging.getLogger(__name__)


class Withheld:
    def __init__(self, data_uri: str) -> None:
        self._published = PublishedTable(data_uri, FEEDBACK_TABLE)
        self.version: int | None = None
        self.ids: dict[str, frozenset[str]] = {}

    def refresh(self) -> None:
        table = self._published.newer_than(self.version)
        if table is None:
            return
        self.ids = withheld_ids(self._published.db)
        self.version = table.version
        log.info("feedback_scores version %d: %d withheld", self.version, sum(map(len, self.ids.values())))
