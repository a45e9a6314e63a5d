"""The pipeline's resources for a test: every one of them, on a temp data folder, the fake LLAMA unless given."""

from functools import lru_cache

from assets.resources import AnalysisResource, EmbedderResource, StoresResource
from jiwa.embedding import Embedder
from tests.support.fakes import FakeLlamaResource


@lru_cache(maxsize=1)
def session_embedder() -> Embedder:
    """The embedded embedder, loaded once per test session."""
    return Embedder()


class SessionEmbedderResource(EmbedderResource):
    """EmbedderResource that hands out the session's embedder instead of loading the model for every run."""

    def setup_for_execution(self, context) -> None:
        self._embedder = session_embedder()


def pipeline_resources(data_uri: str, llama=None, **analysis) -> dict:
    return {
        "llama": llama if llama is not None else FakeLlamaResource(),
        "embedder": SessionEmbedderResource(),
        "stores": StoresResource(data_uri=data_uri),
        "analysis": AnalysisResource(**analysis),
    }
