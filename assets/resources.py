"""Dagster resources: LLAMA, the embedder, the stores, the analysis, knowledge-base and learning policies, and the
Claude models the primer is sized for.

Each resource mirrors one settings class of `jiwa` field for field, each field optional and described by the settings
class: a field left unset in the launchpad takes its JIWA_* environment value when the run (or sensor tick) starts,
never at import. The fields are spelled out so the checker and an IDE see them; tests/test_definitions.py holds each
resource to its settings class.
"""

from __future__ import annotations

from typing import Any, TypeVar

import dagster as dg
import lancedb
from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings

from jiwa.conversations.reader import EventReader
from jiwa.embedding import Embedder, EmbedderSettings
from jiwa.llm import LlamaBuildBroken, LlamaSettings, LLMError, StructuredLLM, open_structured
from jiwa.settings import AnalysisSettings, ClaudeSettings, KnowledgeSettings, LearningSettings, StoreSettings
from jiwa.store.lance import connect

# A step whose LLAMA worker crashed mid-run is tried once more (a fresh worker, a fresh probe); a build that cannot
# run here fails at once, without retries (dg.Failure(allow_retries=False) below).
LLAMA_RETRY_POLICY = dg.RetryPolicy(max_retries=1, delay=2)


_Settings = TypeVar("_Settings", bound=BaseSettings)


def _unset(settings_class: type[BaseSettings], name: str) -> Any:
    """The resource field that mirrors settings_class's field `name`: None unless set in the launchpad. Typed Any, as
    pydantic's Field is, so it can stand as the default of a field of any type."""
    description = settings_class.model_fields[name].description
    return Field(default=None, description=f"{description} Unset: the environment's value, or the default.")


class _FromSettings(dg.ConfigurableResource):
    _settings: BaseSettings | None = PrivateAttr(default=None)

    def _resolved(self, settings_class: type[_Settings]) -> _Settings:
        """The settings for this run: the fields set on the resource, the environment for the rest."""
        if not isinstance(self._settings, settings_class):
            given = {
                name: getattr(self, name) for name in settings_class.model_fields if getattr(self, name) is not None
            }
            self._settings = settings_class(**given)
        return self._settings


class LlamaResource(_FromSettings):
    """LLAMA, the local model that writes the offline assets: llama.cpp in process, or a llama.cpp server (JIWA_LLM_*)."""

    model_path: str | None = _unset(LlamaSettings, "model_path")
    server_url: str | None = _unset(LlamaSettings, "server_url")
    server_model: str | None = _unset(LlamaSettings, "server_model")
    # A secret is a plain string here, so the launchpad can take it as a dg.EnvVar and show only the variable's name.
    server_api_key: str | None = _unset(LlamaSettings, "server_api_key")
    context_size: int | None = _unset(LlamaSettings, "context_size")
    threads: int | None = _unset(LlamaSettings, "threads")
    gpu_layers: int | None = _unset(LlamaSettings, "gpu_layers")
    temperature: float | None = _unset(LlamaSettings, "temperature")
    repeat_penalty: float | None = _unset(LlamaSettings, "repeat_penalty")
    seed: int | None = _unset(LlamaSettings, "seed")
    max_retries: int | None = _unset(LlamaSettings, "max_retries")
    timeout_s: float | None = _unset(LlamaSettings, "timeout_s")
    concurrency: int | None = _unset(LlamaSettings, "concurrency")
    jump_forward: bool | None = _unset(LlamaSettings, "jump_forward")

    _llm: StructuredLLM | None = PrivateAttr(default=None)
    _failure: dg.Failure | None = PrivateAttr(default=None)

    def settings(self) -> LlamaSettings:
        return self._resolved(LlamaSettings)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Opening starts LLAMA's worker and proves the build with a short generation, at the start of every step.
        # A failure is raised by structured(), inside the asset, so the UI shows it as the step's own failure.
        try:
            self._llm = open_structured(self.settings())
        except LlamaBuildBroken as exc:
            self._failure = dg.Failure(
                description=str(exc),
                metadata={"reason": "llama.cpp build does not run on this machine"},
                allow_retries=False,
            )
        except LLMError as exc:
            self._failure = dg.Failure(description=f"LLAMA could not start: {exc}", allow_retries=False)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._llm is not None:
            self._llm.close()

    def measure_raw_rate(self, log: dg.DagsterLogManager) -> None:
        """The model's unconstrained decode rate, probed at the start of the step so the asset's own rate can be
        reported beside it (metadata `over_raw`); a probe that fails only leaves the ratio out."""
        if self._llm is None or self._llm.stats.raw_tokens_per_second:
            return
        try:
            rate = self._llm.measure_raw_rate()
        except LLMError as exc:
            log.warning(f"LLAMA's raw decode probe failed ({exc}); the rate is reported without the ratio")
            return
        if rate:
            log.info(f"LLAMA raw decode rate {rate:.1f} tokens/s ({self._llm.model_id})")

    def structured(self, log: dg.DagsterLogManager | None = None) -> StructuredLLM:
        """The step's LLAMA; given the step's log, its raw decode rate is probed first (once per step)."""
        if self._failure is not None:
            raise self._failure
        if self._llm is None:
            raise dg.DagsterInvariantViolationError("LlamaResource used outside a run; call it from an asset.")
        if log is not None:
            self.measure_raw_rate(log)
        return self._llm


class EmbedderResource(_FromSettings):
    """The sentence embedder whose vectors the server's queries must match."""

    model_path: str | None = _unset(EmbedderSettings, "model_path")
    batch_size: int | None = _unset(EmbedderSettings, "batch_size")
    int8: bool | None = _unset(EmbedderSettings, "int8")

    _embedder: Embedder | None = PrivateAttr(default=None)

    def settings(self) -> EmbedderSettings:
        return self._resolved(EmbedderSettings)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._embedder = self.settings().open()

    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise dg.DagsterInvariantViolationError("EmbedderResource used outside a run; call it from an asset.")
        return self._embedder


class StoresResource(_FromSettings):
    """Where the stores live, and how long compaction keeps old versions."""

    data_uri: str | None = _unset(StoreSettings, "data_uri")
    store_retention_hours: float | None = _unset(StoreSettings, "store_retention_hours")
    conversations_url: str | None = _unset(StoreSettings, "conversations_url")
    conversations_allow_empty: bool | None = _unset(StoreSettings, "conversations_allow_empty")

    def settings(self) -> StoreSettings:
        return self._resolved(StoreSettings)

    @property
    def uri(self) -> str:
        return self.settings().data_uri

    def lance(self) -> lancedb.DBConnection:
        return connect(self.uri)

    def event_reader(self) -> EventReader:
        return EventReader(self.settings().conversations_db)


class AnalysisResource(_FromSettings):
    """When a conversation counts as finished, and how analysis runs are batched and retried."""

    conversation_idle_timeout_s: float | None = _unset(AnalysisSettings, "conversation_idle_timeout_s")
    analysis_batch_size: int | None = _unset(AnalysisSettings, "analysis_batch_size")
    analysis_max_attempts: int | None = _unset(AnalysisSettings, "analysis_max_attempts")
    analysis_retry_after_s: float | None = _unset(AnalysisSettings, "analysis_retry_after_s")
    analysis_sensor_lag_s: float | None = _unset(AnalysisSettings, "analysis_sensor_lag_s")
    conversation_max_days: float | None = _unset(AnalysisSettings, "conversation_max_days")
    analysis_min_support: float | None = _unset(AnalysisSettings, "analysis_min_support")
    analysis_transcript_chars: int | None = _unset(AnalysisSettings, "analysis_transcript_chars")

    def settings(self) -> AnalysisSettings:
        return self._resolved(AnalysisSettings)


class KnowledgeResource(_FromSettings):
    """How many insights are written, when two are duplicates, what the checks demand, when to index."""

    insights_per_topic: int | None = _unset(KnowledgeSettings, "insights_per_topic")
    insights_dedup_threshold: float | None = _unset(KnowledgeSettings, "insights_dedup_threshold")
    insights_min_agreement: float | None = _unset(KnowledgeSettings, "insights_min_agreement")
    insights_max_agreement_gap: float | None = _unset(KnowledgeSettings, "insights_max_agreement_gap")
    insights_verify_with_model: bool | None = _unset(KnowledgeSettings, "insights_verify_with_model")
    insights_min_pass_share: float | None = _unset(KnowledgeSettings, "insights_min_pass_share")
    insights_max_duplicate_rate: float | None = _unset(KnowledgeSettings, "insights_max_duplicate_rate")
    vector_index_min_rows: int | None = _unset(KnowledgeSettings, "vector_index_min_rows")
    cache_min_similarity: float | None = _unset(KnowledgeSettings, "cache_min_similarity")

    def settings(self) -> KnowledgeSettings:
        return self._resolved(KnowledgeSettings)


class LearningResource(_FromSettings):
    """When a learned lesson is earned by its tenant, when a finding supports a candidate, when feedback withholds."""

    min_users: int | None = _unset(LearningSettings, "min_users")
    match_similarity: float | None = _unset(LearningSettings, "match_similarity")
    withhold_after_users: int | None = _unset(LearningSettings, "withhold_after_users")
    withhold_min_share: float | None = _unset(LearningSettings, "withhold_min_share")
    rater_budget: int | None = _unset(LearningSettings, "rater_budget")

    def settings(self) -> LearningSettings:
        return self._resolved(LearningSettings)


class ClaudeResource(_FromSettings):
    """The Claude models the server answers with, whose prompt-cache minimum the cultural primer must reach."""

    claude_model: str | None = _unset(ClaudeSettings, "claude_model")
    claude_complex_model: str | None = _unset(ClaudeSettings, "claude_complex_model")
    claude_cache_ttl: str | None = _unset(ClaudeSettings, "claude_cache_ttl")
    claude_cache_min_tokens: int | None = _unset(ClaudeSettings, "claude_cache_min_tokens")
    claude_count_tokens: bool | None = _unset(ClaudeSettings, "claude_count_tokens")

    def settings(self) -> ClaudeSettings:
        return self._resolved(ClaudeSettings)
