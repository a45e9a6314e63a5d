"""JIWA_DATA_URI=s3://...: every store under it (the knowledge base, the response cache, learned lessons and their
review sheet, the user-data tables) lives in an S3-compatible bucket on loopback, the server answers from it, and a
forgotten user leaves no byte in the bucket after compaction."""

import dagster as dg
import pytest
from litestar.testing import AsyncTestClient

from assets.knowledge import cultural_topics, curated_insights
from assets.nightly import learned_insights, nightly_findings
from assets.resources import LearningResource, StoresResource
from assets.response_cache import common_response_cache, curated_facts, intent_catalogue
from jiwa.conversations import sqlite_url
from jiwa.store.compaction import compact_stores
from serving.app import create_app
from tests.support.attack_loop import yesterday_clock
from tests.support.nightly import night
from tests.support.resources import pipeline_resources
from tests.support.s3 import S3
from tests.support.server import auth, server_settings

CANARY = "zebranocanary"


@pytest.fixture()
def s3(monkeypatch):
    server = S3()
    for key, value in server.environment.items():
        monkeypatch.setenv(key, value)
    yield server
    server.stop()


async def test_every_store_lives_in_the_bucket_and_forgetting_reaches_it(s3, claude, tmp_path, monkeypatch):
    bucket = s3.bucket("jiwa")
    data_uri = f"s3://{bucket}/stores"
    conversations = sqlite_url(str(tmp_path / "local"))
    resources = {
        **pipeline_resources(data_uri),
        "stores": StoresResource(data_uri=data_uri, conversations_url=conversations),
        "learning": LearningResource(min_users=1),
    }
    assert dg.materialize([cultural_topics, curated_insights], resources=resources).success
    cache = dg.materialize(
        [curated_facts, intent_catalogue, common_response_cache],
        resources=resources,
        run_config={
            "ops": {"common_response_cache": {"config": {"paraphrases_per_language": 0, "variants_per_language": 0}}}
        },
    )
    assert cache.success

    day = yesterday_clock(monkeypatch)
    app = create_app(server_settings(data_uri, claude.url, conversations_url=conversations))
    async with AsyncTestClient(app=app) as client:
        grounded = await client.post(
            "/v1/chat", json={"user_id": "ana", "message": f"aku malu bertanya soal {CANARY}"}, headers=auth()
        )
        assert grounded.status_code == 200 and grounded.json()["insight_ids"]
        cached = await client.post(
            "/v1/chat", json={"user_id": "ben", "message": "how much does a KITAS cost?"}, headers=auth()
        )
        assert cached.json()["source"] == "cache"

        metadata = night(resources, day, assets=[nightly_findings, learned_insights])
        assert metadata["nightly_findings"]["kept"] >= 1
        objects = s3.objects(bucket)
        assert "stores/learned_insights_review.md" in objects
        tables = ("cultural_insights", "common_response_cache", "nightly_findings", "learned_insights")
        assert all(any(key.startswith(f"stores/{table}.lance/") for key in objects) for table in tables)
        assert any(CANARY.encode() in body for body in objects.values())

        assert (await client.delete("/v1/users/ana", headers=auth())).status_code == 200

    compact_stores(data_uri, conversations, retention_hours=168)
    leftovers = [key for key, body in s3.objects(bucket).items() if CANARY.encode() in body]
    assert leftovers == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
