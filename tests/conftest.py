import pytest

from jiwa.embedding import Embedder
from pipelines.resources import EmbedderResource, StoresResource
from tests.fakes import FakeLlamaResource


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def data_uri(tmp_path) -> str:
    return str(tmp_path / "stores")


@pytest.fixture()
def fake_resources(data_uri):
    return {
        "llama": FakeLlamaResource(),
        "embedder": EmbedderResource(),
        "stores": StoresResource(data_uri=data_uri),
    }
