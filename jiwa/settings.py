"""Settings read from ``JIWA_*`` environment variables, one class per concern, each field declared once.

The server reads `Settings` when it starts. The pipeline's resources and run config override the others per run
and read the environment when a run launches, never when a module is imported."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jiwa.conversations import sqlite_url
from jiwa.embedding import EmbedderSettings
from jiwa.llm.config import LlamaSettings
from jiwa.paths import PROJECT_ROOT


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore")

    data_uri: str = Field(
        default=str(PROJECT_ROOT / "data"),
        description="Where the tables live: a local folder, or S3-compatible object storage (s3://bucket/prefix).",
    )

    @field_validator("data_uri")
    @classmethod
    def _supported_storage(cls, uri: str) -> str:
        scheme = uri.split("://", 1)[0] if "://" in uri else ""
        if scheme not in ("", "file", "s3"):
            raise ValueError(
                f"JIWA_DATA_URI '{uri}' uses {scheme}://, which Jiwa does not support; set it to a local folder or "
                "to S3-compatible object storage (s3://bucket/prefix, with the endpoint and keys in the AWS_* variables)"
            )
        return uri.removeprefix("file://")

    @property
    def on_object_storage(self) -> bool:
        return self.data_uri.startswith("s3://")

    store_retention_hours: float = Field(
        default=168.0,
        ge=0,
        description="Compaction keeps older versions of the knowledge tables this long (user-data tables keep none).",
    )
    conversations_url: str = Field(
        default="",
        description="The conversation store: a SQLAlchemy URL (postgresql://user:password@host/db for several "
        "machines); empty: a SQLite file, conversations.sqlite3, in the data folder.",
    )
    conversations_allow_empty: bool = Field(
        default=False,
        description="Start on a SQLite conversation file that exists but is empty (0 bytes). Off: such a file, which "
        "was truncated or replaced, is refused, so conversations are never lost without a word.",
    )

    @model_validator(mode="after")
    def _conversations_somewhere(self):
        if self.on_object_storage and not self.conversations_url:
            raise ValueError(
                "with JIWA_DATA_URI on object storage, set JIWA_CONVERSATIONS_URL too: a PostgreSQL URL, or "
                "sqlite:////a/local/path.sqlite3 (a database cannot live in a bucket)"
            )
        return self

    @property
    def conversations_db(self) -> str:
        return self.conversations_url or sqlite_url(self.data_uri)


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore")

    insights_per_topic: int = Field(
        default=2,
        ge=1,
        le=50,
        description="Insights LLAMA writes per topic; 17 or more gives the 1000+ production base.",
    )
    insights_dedup_threshold: float = Field(
        default=0.92,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at or above which two insights count as duplicates.",
    )
    insights_min_agreement: float = Field(
        default=0.40,
        ge=0.0,
        le=1.0,
        description="Truth gate: how similar a generated insight must be to its topic's closest team-written text.",
    )
    insights_max_agreement_gap: float = Field(
        default=0.20,
        ge=0.0,
        le=1.0,
        description="Truth gate: how far below another topic's closest text its own topic's may be.",
    )
    insights_verify_with_model: bool = Field(
        default=True,
        description="Truth gate: LLAMA reads each insight that passed the other rules again, under a yes/no schema, "
        "against the team's insights of its topic; a no drops it.",
    )
    insights_min_pass_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of a category's generated insights that must pass the truth gate for its check to pass.",
    )
    insights_max_duplicate_rate: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of vetted insights that may be dropped as near-duplicates."
    )
    vector_index_min_rows: int = Field(
        default=50_000,
        ge=256,
        description="Build an ANN vector index once a table holds this many rows; below it, exact search is fast enough.",
    )
    cache_min_similarity: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="How close a message must be to a cached intent's phrasings to be answered from the cache.",
    )


class LearningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_LEARNING_", extra="ignore")

    min_users: int = Field(
        default=3,
        ge=1,
        description="Distinct users of one tenant whose conversations must support a learned lesson before it is "
        "served to that tenant; other tenants get it only once an analyst approves it.",
    )
    match_similarity: float = Field(
        default=0.75,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at which a new finding supports an existing candidate of its tenant and kind.",
    )
    withhold_after_users: int = Field(
        default=3,
        ge=1,
        description="Distinct users of a tenant who rated down replies an insight or cached answer shaped (more "
        "than rated them up) before it is withheld from that tenant.",
    )
    withhold_min_share: float = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description="Share of the tenant's users shown an item who must rate it down before it is withheld.",
    )
    rater_budget: int = Field(
        default=5,
        ge=1,
        description="Items one account can weigh against in full; an account that rates down more items has its "
        "vote split between them.",
    )


class AnalysisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore")

    conversation_idle_timeout_s: float = Field(
        default=1800.0,
        gt=0,
        description="A conversation with no turn for this long counts as finished and is analysed.",
    )
    analysis_batch_size: int = Field(default=200, ge=1, description="Most conversations one analysis run takes.")
    analysis_max_attempts: int = Field(
        default=3, ge=1, description="Runs that try a conversation before it stays failed."
    )
    analysis_retry_after_s: float = Field(
        default=300.0, ge=0, description="Wait before a failed analysis is tried again."
    )
    analysis_sensor_lag_s: float = Field(
        default=600.0, ge=0, description="How far back each sensor tick looks again, for log segments sealed late."
    )
    conversation_max_days: float = Field(
        default=14.0,
        gt=0,
        description="How far back the pipeline reads a conversation's turns; older segments are not scanned.",
    )
    analysis_min_support: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="How close in meaning a free-text claim about a user (summary, situation, dreams, needs) must be "
        "to what they wrote to be kept.",
    )
    analysis_transcript_chars: int = Field(
        default=6000,
        ge=500,
        description="Transcript characters LLAMA reads per conversation; the newest turns are kept.",
    )


class ClaudeSettings(BaseSettings):
    """Which Claude models answer, and how their prompt cache is used: read by the server and by the primer asset,
    which must reach the models' cache minimum."""

    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore")

    claude_model: str = Field(default="claude-haiku-4-5", description="Model for ordinary messages.")
    claude_complex_model: str = Field(default="claude-sonnet-4-5", description="Model for long or complex messages.")
    claude_cache_ttl: str = Field(
        default="1h",
        pattern=r"^(5m|1h)$",
        description="How long Anthropic keeps the cached prefix (rules and primer) after its last use; a 1h write "
        "costs 2x the input price, a 5m one 1.25x.",
    )
    claude_cache_min_tokens: int = Field(
        default=0,
        ge=0,
        description="The fewest tokens the models cache; 0 takes Anthropic's documented minimum for each model "
        "(the strictest, 4096, for a model Jiwa does not know).",
    )
    claude_count_tokens: bool = Field(
        default=False,
        description="Count the cached prefix with Anthropic's count_tokens API when the server starts (needs "
        "ANTHROPIC_API_KEY); off: a local estimate, held to the minimum with a 20% margin.",
    )

    @property
    def claude_models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.claude_model, self.claude_complex_model)))


class Settings(StoreSettings, ClaudeSettings):
    """The chat server's settings."""

    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore", protected_namespaces=())

    llm: LlamaSettings = Field(default_factory=LlamaSettings, description="LLAMA, the local responder (JIWA_LLM_*).")
    embedding: EmbedderSettings = Field(
        default_factory=EmbedderSettings, description="The query embedder (JIWA_EMBEDDING_*)."
    )
    learning: LearningSettings = Field(
        default_factory=LearningSettings, description="How learned lessons are earned (JIWA_LEARNING_*)."
    )
    profile_prompt_chars: int = Field(
        default=1500, ge=200, description="Budget for the user's memory in the responder prompt."
    )
    memory_half_life_days: float = Field(
        default=14.0,
        gt=0,
        description="Days in which the confidence of a transient memory (emotional state, anxieties, needs, trust) halves.",
    )
    memory_confidence_floor: float = Field(
        default=0.25, ge=0, le=1, description="Faded confidence below which a transient memory leaves the prompt."
    )
    memory_transient_max_days: float = Field(
        default=45.0, gt=0, description="Age in days past which a transient memory leaves the prompt, however sure."
    )
    anthropic_base_url: str = Field(default="", description="Messages API base URL; empty uses Anthropic's.")
    claude_complex_min_chars: int = Field(
        default=600,
        ge=0,
        description="Messages at least this long, or with several questions, go to the complex model; 0 disables routing.",
    )
    claude_max_tokens: int = Field(default=700, ge=16, le=8192)
    claude_timeout_s: float = Field(default=8.0, gt=0, description="Per-attempt timeout for Claude.")
    claude_max_retries: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Retries of a failed Claude call, each admitted by the circuit breaker, before the local model takes over.",
    )
    claude_input_usd_per_mtok: float = Field(default=1.0, ge=0, description="Price used for the cost estimate metric.")
    claude_output_usd_per_mtok: float = Field(default=5.0, ge=0)
    local_responder: bool = Field(
        default=True, description="Load LLAMA in the server as the offline and fallback responder."
    )
    local_max_tokens: int = Field(default=200, ge=16)
    local_queue_limit: int = Field(
        default=4, ge=1, description="Local replies running or waiting at once; beyond it the fallback answers at once."
    )
    local_timeout_s: float = Field(default=20.0, gt=0, description="Longest a local reply may take.")
    claude_breaker_failures: int = Field(
        default=5, ge=1, description="Claude failures in a row after which Jiwa stops calling it for a while."
    )
    claude_breaker_open_s: float = Field(
        default=30.0, gt=0, description="How long Claude is not called once the breaker opened; then one trial call."
    )
    turn_deadline_s: float = Field(
        default=25.0, gt=0, description="One chat turn's overall deadline: what is not answered by then falls back."
    )
    api_keys: str = Field(
        default="",
        description="Comma-separated tenant=sha256:<hex of the key>. "
        "Empty runs open (single tenant) and is allowed only on a loopback host.",
    )
    host: str = Field(default="127.0.0.1", description="Address the chat server binds.")
    port: int = Field(default=8000, ge=1, le=65535)
    max_message_chars: int = Field(default=4000, ge=1, description="Longer messages are refused with 413.")
    body_read_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for the next part of a request body before a 408."
    )
    rate_limit_per_minute: int = Field(default=120, ge=1, description="Requests per API key per minute.")
    facts_review_date: date | None = Field(
        default=None,
        description="The day the cache compares each curated fact's review_by with; empty: today (UTC). Set it only "
        "to replay a past or simulated day.",
    )
    retrieval_k: int = Field(default=4, ge=1, le=20, description="At most this many insights ground a reply.")
    retrieval_min_similarity: float = Field(
        default=0.25,
        ge=-1,
        le=1,
        description="An insight grounds a reply only if its cosine similarity to the message reaches this. Tuned "
        "for the default embedder on the team's evaluation set; re-tune with bench.retrieval_quality for another.",
    )
    retrieval_max_gap: float = Field(
        default=0.13,
        ge=0,
        le=2,
        description="…and only if it is within this much of the best insight's similarity.",
    )
    history_turns: int = Field(default=12, ge=0, description="Earlier turns of the conversation sent to the responder.")
    store_refresh_s: float = Field(
        default=2.0, gt=0, description="How often the server looks for newly published store versions."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
