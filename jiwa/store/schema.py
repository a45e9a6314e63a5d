"""Table names and Arrow schemas. Importing this module opens nothing."""

from __future__ import annotations

import pyarrow as pa

INSIGHTS_TABLE = "cultural_insights"

# Schema metadata keys: a table records which embedder wrote its vectors.
EMBEDDING_MODEL_KEY = b"jiwa.embedding_model"
EMBEDDING_DIM_KEY = b"jiwa.embedding_dim"

INSIGHT_SOURCES = ("llama_offline", "llama_nightly")


def insights_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("topic_id", pa.string(), nullable=False),
            pa.field("topic", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("insight", pa.string(), nullable=False),
            pa.field("guidance", pa.string(), nullable=False),
            pa.field("triggers_id", pa.list_(pa.string())),
            pa.field("triggers_en", pa.list_(pa.string())),
            pa.field("triggers_it", pa.list_(pa.string())),
            pa.field("tone_tags", pa.list_(pa.string())),
            # Topic, insight and triggers in one column, so full-text search also matches what users write.
            pa.field("search_text", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_name", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("generated_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("run_id", pa.string()),
            pa.field("source_date", pa.string()),
            pa.field("source_conversations", pa.list_(pa.string())),
            pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),
        ],
        metadata={EMBEDDING_MODEL_KEY: embedding_model.encode(), EMBEDDING_DIM_KEY: str(dimension).encode()},
    )
