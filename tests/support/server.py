"""Fixtures for server tests: settings on a temp data dir, API keys, a published insight table."""

from datetime import UTC, datetime

import dagster as dg
import lancedb
import pyarrow as pa

from assets.knowledge import cultural_insights, cultural_topics
from bench.support.fake_anthropic import free_port  # noqa: F401
from bench.support.publish import FACTS_CHECKED_ON, publish_team_cache  # noqa: F401 (imported from here by the tests)
from bench.support.server import KEYS, LiveServer, auth, publish_curated, server_settings  # noqa: F401
from jiwa.domain.profile import Profile, Remembered
from jiwa.store.analyses import profile_id
from jiwa.store.lance import upsert
from jiwa.store.schema import PROFILES_TABLE, profiles_schema


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
