"""The tables' Arrow schemas as the hand-written jiwa/store/schema.py declared them before row classes derived them,
copied field by field: tables already stored have these columns, so a derived schema must equal them to the letter."""

import pyarrow as pa

TIME = pa.timestamp("us", tz="UTC")


def embedder_metadata(model: str, dimension: int) -> dict[bytes, bytes]:
    return {b"jiwa.embedding_model": model.encode(), b"jiwa.embedding_dim": str(dimension).encode()}


def _vector(dimension: int) -> pa.DataType:
    return pa.list_(pa.float32(), dimension)


def _insight_fields() -> list[pa.Field]:
    return [
        pa.field("topic_id", pa.string(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("insight", pa.string(), nullable=False),
        pa.field("guidance", pa.string(), nullable=False),
        pa.field("triggers_id", pa.list_(pa.string())),
        pa.field("triggers_en", pa.list_(pa.string())),
        pa.field("triggers_it", pa.list_(pa.string())),
        pa.field("tone_tags", pa.list_(pa.string())),
        pa.field("search_text", pa.string(), nullable=False),
    ]


def insights(model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            *_insight_fields(),
            pa.field("source", pa.string(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_name", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("generated_at", TIME, nullable=False),
            pa.field("run_id", pa.string()),
            pa.field("source_date", pa.string()),
            pa.field("source_conversations", pa.list_(pa.string())),
            pa.field("vector", _vector(dimension), nullable=False),
        ],
        metadata=embedder_metadata(model, dimension),
    )


def primer() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("tokens", pa.int32(), nullable=False),
            pa.field("tokenizer", pa.string(), nullable=False),
            pa.field("topics", pa.int32(), nullable=False),
            pa.field("insights", pa.int32(), nullable=False),
            pa.field("knowledge_version", pa.int64(), nullable=False),
            pa.field("built_at", TIME, nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def analyses() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("fingerprint", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("attempts", pa.int32(), nullable=False),
            pa.field("turns", pa.int32(), nullable=False),
            pa.field("started_at", TIME, nullable=False),
            pa.field("ended_at", TIME, nullable=False),
            pa.field("analysed_at", TIME, nullable=False),
            pa.field("primary_language", pa.string()),
            pa.field("signals", pa.string(), nullable=False),
            pa.field("analysis", pa.string()),
            pa.field("dropped_claims", pa.int32(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def profiles() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("updated_at", TIME, nullable=False),
            pa.field("first_seen", TIME, nullable=False),
            pa.field("conversations", pa.int32(), nullable=False),
            pa.field("sources_fingerprint", pa.string(), nullable=False),
            pa.field("profile", pa.string(), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def response_cache(model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("intent", pa.string()),
            pa.field("language", pa.string()),
            pa.field("style", pa.string()),
            pa.field("template", pa.string()),
            pa.field("text", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("facts_version", pa.string(), nullable=False),
            pa.field("vector", _vector(dimension), nullable=False),
        ],
        metadata=embedder_metadata(model, dimension),
    )


def _lesson_fields(dimension: int) -> list[pa.Field]:
    return [
        pa.field("kind", pa.string(), nullable=False),
        *_insight_fields(),
        pa.field("vector", _vector(dimension), nullable=False),
    ]


def findings(model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("day", pa.string(), nullable=False),
            pa.field("ended_at", TIME, nullable=False),
            *_lesson_fields(dimension),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("run_id", pa.string()),
        ],
        metadata=embedder_metadata(model, dimension),
    )


def learned(model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            *_lesson_fields(dimension),
            pa.field("supporting_conversations", pa.list_(pa.string()), nullable=False),
            pa.field("supporting_users", pa.list_(pa.string()), nullable=False),
            pa.field("users", pa.int32(), nullable=False),
            pa.field("first_seen", pa.string(), nullable=False),
            pa.field("last_seen", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
        ],
        metadata=embedder_metadata(model, dimension),
    )


def reviews() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("candidate", pa.string(), nullable=False),
            pa.field("decision", pa.string(), nullable=False),
            pa.field("decided_at", TIME, nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def feedback() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("item", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("replies", pa.int32(), nullable=False),
            pa.field("rated_up_users", pa.int32(), nullable=False),
            pa.field("rated_down_users", pa.int32(), nullable=False),
            pa.field("shown_users", pa.int32(), nullable=False),
            pa.field("down_weight", pa.float64(), nullable=False),
            pa.field("team_written", pa.bool_(), nullable=False),
            pa.field("needs_review", pa.bool_(), nullable=False),
            pa.field("withheld", pa.bool_(), nullable=False),
            pa.field("scored_at", TIME, nullable=False),
        ]
    )


def proposals() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("proposal", pa.string(), nullable=False),
            pa.field("day", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("question", pa.string(), nullable=False),
            pa.field("asked_at", TIME, nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def intent_decisions() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("proposal", pa.string(), nullable=False),
            pa.field("decision", pa.string(), nullable=False),
            pa.field("intent", pa.string()),
            pa.field("content", pa.string()),
            pa.field("decided_at", TIME, nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )
