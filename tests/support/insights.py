"""A small cultural-insights table for store tests: one row per source, every vector the same 4-dimension unit."""

import lancedb
import pyarrow as pa

from jiwa.store.lance import upsert
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema


def insights_table(uri: str, sources: tuple[str, ...], insight=lambda source: f"an insight from {source}"):
    """The table, with a row whose id, topic and search text are its source, and whose insight is insight(source)."""
    schema = insights_schema("test-embedder", 4)
    rows = [
        {name: None for name in schema.names}
        | {
            "id": source,
            "topic_id": source,
            "topic": source,
            "category": "c",
            "insight": insight(source),
            "guidance": "g",
            "search_text": f"an insight from {source}",
            "source": source,
            "model": "m",
            "prompt_name": "p",
            "prompt_version": "1",
            "generated_at": pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
            "vector": [1.0, 0.0, 0.0, 0.0],
        }
        for source in sources
    ]
    return upsert(lancedb.connect(uri), INSIGHTS_TABLE, schema, pa.Table.from_pylist(rows, schema=schema))
