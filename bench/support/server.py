"""A chat server for benchmarks and tests: its settings on a temp data folder with the test API keys, the team's
curated base published, and the app served on a free port in this process."""

from __future__ import annotations

import threading
from typing import Any

import dagster as dg
import uvicorn

from assets.knowledge import cultural_topics
from bench.support.fake_anthropic import free_port
from bench.support.publish import FACTS_CHECKED_ON
from jiwa.settings import Settings
from serving.auth import hash_key

KEYS = {"acme": "acme-secret-key", "globex": "globex-secret-key"}


def auth(tenant: str = "acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def server_settings(data_uri: str, anthropic_url: str = "", **overrides) -> Settings:
    # Keyword arguments for Settings, which validates each; an override replaces the bench's value.
    fields: dict[str, Any] = dict(
        data_uri=data_uri,
        facts_review_date=FACTS_CHECKED_ON,
        local_responder=False,
        anthropic_base_url=anthropic_url,
        claude_timeout_s=1.0,
        claude_max_retries=0,
        store_refresh_s=0.2,
        api_keys=",".join(f"{tenant}=sha256:{hash_key(key)}" for tenant, key in KEYS.items()),
    )
    fields.update(overrides)
    return Settings(**fields)


def publish_curated(resources, instance=None):
    """The team's curated base, published as make run's first half does it."""
    from assets.knowledge import curated_insights

    result = dg.materialize(
        [cultural_topics, curated_insights], resources=resources, instance=instance or dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return result


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread, for clients that need real HTTP."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )

    def __enter__(self) -> LiveServer:
        import time

        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the chat server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
