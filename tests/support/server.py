"""Fixtures for server tests: settings on a temp data dir, API keys, a published insight table."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import lancedb
import pyarrow as pa

from assets.knowledge import cultural_insights, cultural_topics
from bench.support.fake_anthropic import free_port
from bench.support.publish import publish_team_cache  # noqa: F401 (moved there; imported from here by the tests)
from jiwa.catalogue.intents import load_facts
from jiwa.profile import Profile, Remembered
from jiwa.settings import Settings
from jiwa.store.analyses import profile_id
from jiwa.store.lance import upsert
from jiwa.store.schema import PROFILES_TABLE, profiles_schema
from serving.auth import hash_key

KEYS = {"acme": "acme-secret-key", "globex": "globex-secret-key"}


def auth(tenant: str = "acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


# A day on which every team fact is within its review date, so that what the cache serves in a test does not
# depend on the day the test runs (tests of expiry pick their own day).
FACTS_CHECKED_ON = min(fact.review_by for fact in load_facts().facts.values()) - timedelta(days=1)


def server_settings(data_uri: str, anthropic_url: str = "", **overrides) -> Settings:
    fields = dict(
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


def publish_insights(resources, categories=("phrases_emotions",)) -> None:
    """LLAMA's insights (the fake's) for these categories, as the pipeline publishes them."""
    instance = dg.DagsterInstance.ephemeral()
    for category in categories:
        dg.materialize(
            [cultural_topics, cultural_insights],
            resources=resources,
            partition_key=category,
            run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1}}}},
            instance=instance,
        )


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs of a Server-Sent Events body."""
    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread, for clients that need real HTTP."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )

    def __enter__(self) -> "LiveServer":
        import threading
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


def publish_profile(data_uri: str, user_id: str, name: str, emotion: str, preference="detailed", tenant="acme") -> None:
    """A JIWA profile for (tenant, user_id), as the pipeline publishes it."""
    at = datetime(2026, 11, 20, tzinfo=UTC)
    remember = lambda value: Remembered(value=value, updated_at=at, first_seen=at, confidence=0.7, sources=("c0",))  # noqa: E731
    profile = Profile(
        user_id=user_id,
        tenant=tenant,
        conversations=1,
        first_seen=at,
        last_seen=at,
        facts={"name": remember(name), "language": remember("id")},
        jiwa_context={"emotional_state": remember(emotion), "communication_preference": remember(preference)},
    )
    row = {
        "id": profile_id(tenant, user_id),
        "tenant": tenant,
        "user_id": user_id,
        "updated_at": at,
        "first_seen": at,
        "conversations": 1,
        "sources_fingerprint": "x",
        "profile": profile.model_dump_json(),
        "run_id": "test",
    }
    upsert(
        lancedb.connect(data_uri),
        PROFILES_TABLE,
        profiles_schema(),
        pa.Table.from_pylist([row], schema=profiles_schema()),
    )


def start_server_process(data_uri: str, claude_url: str, port: int, log_file=None, **env: str):
    """`python -m serving` on its own port, as an operator starts it; returns once /health answers."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    environment = {
        **os.environ,
        "JIWA_DATA_URI": data_uri,
        "JIWA_PORT": str(port),
        "JIWA_ANTHROPIC_BASE_URL": claude_url,
        "JIWA_LOCAL_RESPONDER": "false",
        "JIWA_API_KEYS": server_settings(data_uri).api_keys,
        "JIWA_FACTS_REVIEW_DATE": FACTS_CHECKED_ON.isoformat(),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        env=environment,
        stdout=log_file or subprocess.DEVNULL,
        stderr=log_file or subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


async def chat_until_stopped(
    client, index: int, turns: int, acknowledged: list[dict], *, one_conversation: bool
) -> None:
    """User `index` chats `turns` times (in one conversation, or a new one each turn), recording each acknowledged
    turn with its message; a server that dies under it ends the user's chat."""
    import httpx

    conversation_id = None
    for turn in range(turns):
        body = {"user_id": f"user{index}", "message": f"message {turn} from user {index}"}
        if conversation_id:
            body["conversation_id"] = conversation_id
        try:
            response = await client.post("/v1/chat", json=body, headers=auth())
        except httpx.HTTPError:
            return  # the server died: from here nothing is acknowledged
        if response.status_code == 200:
            answer = response.json()
            conversation_id = answer["conversation_id"] if one_conversation else None
            acknowledged.append({**answer, "message": body["message"]})
