"""The pipeline's resources for a test: every one of them, on a temp data folder, the fake LLAMA unless given."""

from __future__ import annotations

from assets.resources import (
    AnalysisResource,
    ClaudeResource,
    EmbedderResource,
    KnowledgeResource,
    LearningResource,
    StoresResource,
)
from bench.support.fakes import FakeLlamaResource
from jiwa.embedding import Embedder, EmbedderSettings


def session_embedder() -> Embedder:
    """The embedded embedder: loaded once per process, so once per test session, by the server and the pipeline alike."""
    return EmbedderSettings(model_path="", int8=False).open()


def pipeline_resources(data_uri: str, llama=None, **analysis) -> dict:
    return {
        "llama": llama if llama is not None else FakeLlamaResource(),
        "embedder": EmbedderResource(model_path="", int8=False),
        "stores": StoresResource(data_uri=data_uri),
        "analysis": AnalysisResource(**analysis),
        "knowledge": KnowledgeResource(),
        "learning": LearningResource(),
        "claude": ClaudeResource(),
    }
