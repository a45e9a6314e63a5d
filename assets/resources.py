"""Dagster resources: LLAMA, the embedder, the stores, the analysis, knowledge-base and learning policies, and the
Claude models the primer is sized for.

Each resource mirrors one settings class of `jiwa` field for field, so a setting is declared once: a field left
unset in the launchpad takes its JIWA_* environment value when the run (or sensor tick) starts, never at import.
"""

from __future__ import annotations

from typing import Any, ClassVar

import dagster as dg
from pydantic import Field, PrivateAttr, create_model
from pydantic_settings import BaseSettings

from jiwa.conversations.reader import EventReader
from jiwa.embedding import Embedder, EmbedderSettings
from jiwa.llm import LlamaBuildBroken, LlamaSettings, LLMError, StructuredLLM, open_structured
from jiwa.settings import AnalysisSettings, ClaudeSettings, KnowledgeSettings, LearningSettings, StoreSettings
from jiwa.store.lance import connect

# A step whose LLAMA worker crashed mid-run is tried once more (a fresh worker, a fresh probe); a build that cannot
# run here fails at once, without retries (dg.Failure(allow_retries=False) below).
LLAMA_RETRY_POLICY = dg.RetryPolicy(max_retries=1, delay=2)


class _FromSettings(dg.ConfigurableResource):
    settings_class: ClassVar[type[BaseSettings]]
    _settings: Any = PrivateAttr(default=None)

    def settings(self) -> Any:
        """The settings for this run: the fields set on the resource, the environment for the rest."""
        if self._settings is None:
            given = {
                name: getattr(self, name)
                for name in self.settings_class.model_fields
                if getattr(self, name) is not None
            }
            self._settings = self.settings_class(**given)
        return self._settings


def _mirror(name: str, base: type[_FromSettings], doc: str, secrets: tuple[str, ...] = ()) -> type[_FromSettings]:
    """A resource class whose fields are base.settings_class's, each optional; secrets are strings set with dg.EnvVar."""
    fields = {
        field_name: (
            (str if field_name in secrets else field.annotation) | None,
            Field(default=None, description=f"{field.description} Unset: the environment's value, or the default."),
        )
        for field_name, field in base.settings_class.model_fields.items()
    }
    return create_model(name, __base__=base, __doc__=doc, __module__=__name__, **fields)


class _Llama(_FromSettings):
    settings_class = LlamaSettings
    _llm: StructuredLLM | None = PrivateAttr(default=None)
    _failure: dg.Failure | None = PrivateAttr(default=None)

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

    def measure_raw_rate(self, log) -> None:
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

    def structured(self, log=None) -> StructuredLLM:
        """The step's LLAMA; given the step's log, its raw decode rate is probed first (once per step)."""
        if self._failure is not None:
            raise self._failure
        if self._llm is None:
            raise dg.DagsterInvariantViolationError("LlamaResource used outside a run; call it from an asset.")
        if log is not None:
            self.measure_raw_rate(log)
        return self._llm


class _Embedder(_FromSettings):
    settings_class = EmbedderSettings
    _embedder: Embedder | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._embedder = self.settings().open()

    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise dg.DagsterInvariantViolationError("EmbedderResource used outside a run; call it from an asset.")
        return self._embedder


class _Stores(_FromSettings):
    settings_class = StoreSettings

    @property
    def uri(self) -> str:
        return self.settings().data_uri

    def lance(self):
        return connect(self.uri)

    def event_reader(self) -> EventReader:
        return EventReader(self.settings().conversations_db)


class _Analysis(_FromSettings):
    settings_class = AnalysisSettings


class _Knowledge(_FromSettings):
    settings_class = KnowledgeSettings


class _Learning(_FromSettings):
    settings_class = LearningSettings


class _Claude(_FromSettings):
    settings_class = ClaudeSettings


LlamaResource = _mirror(
    "LlamaResource",
    _Llama,
    "LLAMA, the local model that writes the offline assets: llama.cpp in process, or a llama.cpp server (JIWA_LLM_*).",
    secrets=("server_api_key",),
)
EmbedderResource = _mirror(
    "EmbedderResource", _Embedder, "The sentence embedder whose vectors the server's queries must match."
)
StoresResource = _mirror(
    "StoresResource", _Stores, "Where the stores live, and how long compaction keeps old versions."
)
AnalysisResource = _mirror(
    "AnalysisResource",
    _Analysis,
    "When a conversation counts as finished, and how analysis runs are batched and retried.",
)
KnowledgeResource = _mirror(
    "KnowledgeResource",
    _Knowledge,
    "How many insights are written, when two are duplicates, what the checks demand, when to index.",
)
LearningResource = _mirror(
    "LearningResource",
    _Learning,
    "When a learned lesson is earned by its tenant, when a finding supports a candidate, when feedback withholds.",
)
ClaudeResource = _mirror(
    "ClaudeResource",
    _Claude,
    "The Claude models the server answers with, whose prompt-cache minimum the cultural primer must reach.",
)
