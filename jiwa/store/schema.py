"""Table names and Arrow schemas. Importing this module opens nothing."""

from __future__ import annotations

import pyarrow as pa

from jiwa.domain.language import TRIGGER_LANGUAGES

INSIGHTS_TABLE = "cultural_insights"
# Schema metadata keys: a table records which embedder wrote its vectors.
EMBEDDING_MODEL_KEY = b"jiwa.embedding_model"
EMBEDDING_DIM_KEY = b"jiwa.embedding_dim"


def embedder_metadata(embedding_model: str, dimension: int) -> dict[bytes, bytes]:
    """Schema metadata naming the embedder whose vectors a table holds."""
    return {EMBEDDING_MODEL_KEY: embedding_model.encode(), EMBEDDING_DIM_KEY: str(dimension).encode()}


# One list of trigger phrases per language the users write in.
TRIGGER_COLUMNS = tuple(f"triggers_{language}" for language in TRIGGER_LANGUAGES)


def _insight_fields() -> list[pa.Field]:
    """What an insight says about its topic: the same in the knowledge base, a night's findings and learned lessons."""
    return [
        pa.field("topic_id", pa.string(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("insight", pa.string(), nullable=False),
        pa.field("guidance", pa.string(), nullable=False),
        *(pa.field(column, pa.list_(pa.string())) for column in TRIGGER_COLUMNS),
        pa.field("tone_tags", pa.list_(pa.string())),
        # Topic, insight and triggers in one column, so full-text search also matches what users write.
        pa.field("search_text", pa.string(), nullable=False),
    ]


def insights_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            *_insight_fields(),
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
        metadata=embedder_metadata(embedding_model, dimension),
    )


PRIMER_TABLE = "cultural_primer"


def primer_schema() -> pa.Schema:
    """The cultural primer the server sends in Claude's cached prefix: one row, the latest, replaced when it changes."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the text's hash: an identical primer is not written again
            pa.field("text", pa.string(), nullable=False),
            pa.field("tokens", pa.int32(), nullable=False),  # the local estimate (jiwa.claude_cache)
            pa.field("tokenizer", pa.string(), nullable=False),
            pa.field("topics", pa.int32(), nullable=False),
            pa.field("insights", pa.int32(), nullable=False),
            pa.field("knowledge_version", pa.int64(), nullable=False),  # the cultural_insights version it distils
            pa.field("built_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


ANALYSES_TABLE = "conversation_analyses"
PROFILES_TABLE = "jiwa_profiles"
FINDINGS_TABLE = "nightly_findings"
PROPOSALS_TABLE = "intent_proposals"
# Tables that hold what users wrote or what we inferred about them, one row per (tenant, user_id): forgetting a user
# deletes their rows here, and compaction keeps no older version of these tables, so deleted rows leave the disk.
USER_DATA_TABLES = (ANALYSES_TABLE, PROFILES_TABLE, FINDINGS_TABLE, PROPOSALS_TABLE)

LEARNED_TABLE = "learned_insights"
REVIEWS_TABLE = "insight_reviews"
FEEDBACK_TABLE = "feedback_scores"
# Derived from users' conversations without a row per user: rebuilt when a user is forgotten (the reviews name the
# findings they were kept with), and compaction keeps no older version of them either.
UNRETAINED_TABLES = (*USER_DATA_TABLES, LEARNED_TABLE, REVIEWS_TABLE)


def analyses_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the conversation id: one current analysis per conversation
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            # Hash of the conversation's turns: the same content is never analysed twice.
            pa.field("fingerprint", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("attempts", pa.int32(), nullable=False),
            pa.field("turns", pa.int32(), nullable=False),
            pa.field("started_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("ended_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("analysed_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("primary_language", pa.string()),
            pa.field("signals", pa.string(), nullable=False),  # JSON: marker and language counts, by rule
            pa.field("analysis", pa.string()),  # JSON: the grounded ConversationAnalysis; null when failed
            pa.field("dropped_claims", pa.int32(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def profiles_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the user id
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("updated_at", pa.timestamp("us", tz="UTC"), nullable=False),
            # When the oldest conversation behind the profile ended: forgetting a user removes profiles from before.
            pa.field("first_seen", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("conversations", pa.int32(), nullable=False),
            # Hash of the analyses the profile was built from: rebuilding from the same analyses is a no-op.
            pa.field("sources_fingerprint", pa.string(), nullable=False),
            pa.field("profile", pa.string(), nullable=False),  # JSON: jiwa.domain.profile.Profile
            pa.field("run_id", pa.string()),
        ]
    )


RESPONSE_CACHE_TABLE = "common_response_cache"


def response_cache_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("intent", pa.string()),
            pa.field("language", pa.string()),
            pa.field("style", pa.string()),  # answers: reference, short or long
            pa.field("template", pa.string()),  # answers: with {fact} placeholders, as written
            pa.field("text", pa.string(), nullable=False),  # facts filled in; the spec's JSON for the spec row
            pa.field("source", pa.string(), nullable=False),  # team or the model that wrote it
            pa.field("facts_version", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),  # phrasings; zeros elsewhere
        ],
        metadata=embedder_metadata(embedding_model, dimension),
    )


def _lesson_fields(dimension: int) -> list[pa.Field]:
    """What a learned lesson says, the same in a night's findings and in the candidates built from them."""
    return [
        pa.field("kind", pa.string(), nullable=False),
        *_insight_fields(),
        pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),
    ]


# The columns of a lesson a candidate carries from the finding it was built from (all but the vector).
LESSON_COLUMNS = tuple(field.name for field in _lesson_fields(1) if field.name != "vector")


def findings_schema(embedding_model: str, dimension: int) -> pa.Schema:
    """One vetted lesson LLAMA drew from one conversation: user data, forgotten with its user."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the conversation id: one finding per conversation
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("day", pa.string(), nullable=False),  # the Bali day whose night wrote it
            pa.field("ended_at", pa.timestamp("us", tz="UTC"), nullable=False),  # the conversation's last turn
            *_lesson_fields(dimension),
            pa.field("model", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("run_id", pa.string()),
        ],
        metadata=embedder_metadata(embedding_model, dimension),
    )


def learned_schema(embedding_model: str, dimension: int) -> pa.Schema:
    """Lessons of one tenant, each with the findings that support it (support accumulates across nights)."""
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
        metadata=embedder_metadata(embedding_model, dimension),
    )


def reviews_schema() -> pa.Schema:
    """An analyst's decision on a learned lesson, kept with each finding that supported it when it was made."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the finding id (its conversation)
            pa.field("candidate", pa.string(), nullable=False),  # the lesson's id when it was decided
            pa.field("decision", pa.string(), nullable=False),  # APPROVED or REJECTED
            pa.field("decided_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


def feedback_schema() -> pa.Schema:
    """Ratings of the replies each insight or cached answer shaped, per tenant, counted in distinct users: aggregates
    only. A tenant's users withhold it from that tenant only, so no customer can take content away from another."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # tenant, kind and item together
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("item", pa.string(), nullable=False),  # the insight id or the cached answer's id
            pa.field("kind", pa.string(), nullable=False),
            pa.field("replies", pa.int32(), nullable=False),
            pa.field("rated_up_users", pa.int32(), nullable=False),
            pa.field("rated_down_users", pa.int32(), nullable=False),
            pa.field("shown_users", pa.int32(), nullable=False),  # distinct users who got a reply it shaped
            pa.field("down_weight", pa.float64(), nullable=False),  # rated-down users, each within its budget
            pa.field("team_written", pa.bool_(), nullable=False),  # curated: never withheld by votes, reviewed
            pa.field("needs_review", pa.bool_(), nullable=False),
            pa.field("withheld", pa.bool_(), nullable=False),
            pa.field("scored_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


def proposals_schema() -> pa.Schema:
    """A question that joined a proposed intent: user data (their words), forgotten with its user."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # the message id
            pa.field("proposal", pa.string(), nullable=False),  # the proposal it belongs to
            pa.field("day", pa.string(), nullable=False),
            pa.field("tenant", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("question", pa.string(), nullable=False),
            pa.field("asked_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )


INTENT_DECISIONS_TABLE = "intent_decisions"


def intent_decisions_schema() -> pa.Schema:
    """One decision per row, never rewritten, so what was served when stays readable. The content is the analyst's
    own words (phrasings copied from the proposal's questions are refused): no user data."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),  # proposal and run: one row per decision
            pa.field("proposal", pa.string(), nullable=False),
            pa.field("decision", pa.string(), nullable=False),  # ACCEPT or REJECT
            pa.field("intent", pa.string()),  # the accepted intent's name; null for a rejection
            pa.field("content", pa.string()),  # JSON: jiwa.catalogue.accepted.AcceptedIntent; null for a rejection
            pa.field("decided_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("run_id", pa.string()),
        ]
    )
