import pytest

from jiwa.embedding import Embedder
from tests.support.resources import pipeline_resources, session_embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return session_embedder()


@pytest.fixture()
def data_uri(tmp_path) -> str:
    return str(tmp_path / "stores")


@pytest.fixture()
def resources(data_uri):
    """Every pipeline resource on this test's data folder, with the fake LLAMA."""
    return pipeline_resources(data_uri)


@pytest.fixture(scope="session")
def fake_anthropic():
    from tests.support.fake_anthropic import FakeAnthropic

    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture()
def claude(fake_anthropic, monkeypatch):
    """The fake Messages API, reset for each test, with the SDK pointed at it through the environment."""
    fake_anthropic.mode, fake_anthropic.delay_s = "ok", 0.0
    fake_anthropic.requests.clear()
    fake_anthropic.cache.clear()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
    return fake_anthropic


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL server, started once for the session."""
    from tests.support.postgres import Postgres

    server = Postgres(str(tmp_path_factory.mktemp("postgres")))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The conversation store's URL, once for each engine Jiwa supports."""
    from jiwa.conversations import sqlite_url

    if request.param == "sqlite":
        return sqlite_url(str(tmp_path / "stores"))
    return request.getfixturevalue("postgres").new_database()
