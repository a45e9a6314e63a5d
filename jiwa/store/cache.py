"""Queries of the common_response_cache table."""

from __future__ import annotations

import lancedb

from jiwa.catalogue.matching import MatcherSpec
from jiwa.domain.status import CACHE_SPEC
from jiwa.store.lance import sql_literal
from jiwa.store.schema import RESPONSE_CACHE_TABLE


def published_matcher_spec(db: lancedb.DBConnection) -> MatcherSpec | None:
    """The term rules the published cache matches with; None before the cache is built."""
    if RESPONSE_CACHE_TABLE not in db.table_names():
        return None
    query = (
        db.open_table(RESPONSE_CACHE_TABLE)
        .search()
        .where(f"kind = {sql_literal(CACHE_SPEC)}")
        .select(["text"])
        .limit(1)
    )
    spec = query.to_arrow()
    return MatcherSpec.from_json(spec.column("text")[0].as_py()) if spec.num_rows else None
