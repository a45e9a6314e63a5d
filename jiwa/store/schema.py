"""Table names and Arrow schemas, each schema derived from its table's row class (jiwa.domain.rows). Importing this
module opens nothing."""

from __future__ import annotations

import pyarrow as pa

from jiwa.domain.rows.columns import Row
from jiwa.domain.rows.feedback import FeedbackRow
from jiwa.domain.rows.insights import InsightRow
from jiwa.domain.rows.intents import IntentDecisionRow, ProposalRow
from jiwa.domain.rows.learning import FindingRow, LearnedRow, ReviewRow
from jiwa.domain.rows.memory import AnalysisRow, ProfileRow
from jiwa.domain.rows.primer import PrimerRow
from jiwa.domain.rows.response_cache import CacheRow
from jiwa.store.row_schema import row_schema

INSIGHTS_TABLE = "cultural_insights"
# Schema metadata keys: a table records which embedder wrote its vectors.
EMBEDDING_MODEL_KEY = b"jiwa.embedding_model"
EMBEDDING_DIM_KEY = b"jiwa.embedding_dim"


def embedder_metadata(embedding_model: str, dimension: int) -> dict[bytes, bytes]:
    """Schema metadata naming the embedder whose vectors a table holds."""
    return {EMBEDDING_MODEL_KEY: embedding_model.encode(), EMBEDDING_DIM_KEY: str(dimension).encode()}


def _with_vectors(row: type[Row], embedding_model: str, dimension: int) -> pa.Schema:
    return row_schema(row, dimension=dimension, metadata=embedder_metadata(embedding_model, dimension))


def insights_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return _with_vectors(InsightRow, embedding_model, dimension)


PRIMER_TABLE = "cultural_primer"


def primer_schema() -> pa.Schema:
    return row_schema(PrimerRow)


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
    return row_schema(AnalysisRow)


def profiles_schema() -> pa.Schema:
    return row_schema(ProfileRow)


RESPONSE_CACHE_TABLE = "common_response_cache"


def response_cache_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return _with_vectors(CacheRow, embedding_model, dimension)


def findings_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return _with_vectors(FindingRow, embedding_model, dimension)


def learned_schema(embedding_model: str, dimension: int) -> pa.Schema:
    return _with_vectors(LearnedRow, embedding_model, dimension)


def reviews_schema() -> pa.Schema:
    return row_schema(ReviewRow)


def feedback_schema() -> pa.Schema:
    return row_schema(FeedbackRow)


def proposals_schema() -> pa.Schema:
    return row_schema(ProposalRow)


INTENT_DECISIONS_TABLE = "intent_decisions"


def intent_decisions_schema() -> pa.Schema:
    return row_schema(IntentDecisionRow)
