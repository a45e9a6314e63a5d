"""The cultural primer: distilled by rule from the served knowledge base, sent in Claude's cached prefix, read back
from the cache on the next turn (streamed too), and refused at start when it cannot be cached."""

import json

import dagster as dg
import lancedb
import pytest
from litestar.testing import AsyncTestClient

from assets.knowledge import cultural_primer, cultural_topics, curated_insights
from jiwa.claude_cache import cache_minimum, count_tokens, required_local_tokens
from jiwa.store.schema import PRIMER_TABLE
from serving.app import create_app
from serving.primer import startup_problem
from tests.support.resources import pipeline_resources
from tests.support.server import auth, free_port, server_settings, sse_events


def _publish(data_uri: str):
    result = dg.materialize(
        [cultural_topics, curated_insights, cultural_primer], resources=pipeline_resources(data_uri)
    )
    assert result.success
    return result


def _primer_row(data_uri: str) -> dict:
    return lancedb.connect(data_uri).open_table(PRIMER_TABLE).to_arrow().to_pylist()[0]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> str:
    data_uri = str(tmp_path_factory.mktemp("primer") / "stores")
    _publish(data_uri)
    return data_uri


def test_the_primer_passes_the_cache_minimum_and_stays_cheap(published):
    row = _primer_row(published)
    rules = _rules()
    prefix = count_tokens(rules) + count_tokens(row["text"])
    minimum = cache_minimum("claude-haiku-4-5")
    assert required_local_tokens(minimum) <= prefix <= 2 * minimum
    assert row["tokens"] == count_tokens(row["text"]) and row["topics"] >= 40
    # Every topic of the catalogue, in its order, each with a team-written line first.
    assert row["text"].index("## aku malu") < row["text"].index("## maaf")
    assert row["text"].startswith("The <cultural_primer> block") and row["text"].endswith("</cultural_primer>")


def test_the_same_rows_give_the_same_primer_byte_for_byte(published, tmp_path):
    again = str(tmp_path / "stores")
    result = _publish(again)
    assert _primer_row(again)["text"] == _primer_row(published)["text"]
    metadata = result.asset_materializations_for_node("cultural_primer")[0].metadata
    assert metadata["tokens"].value == _primer_row(again)["tokens"] and metadata["changed"].value is True
    # Rebuilt from the same knowledge base: nothing new to publish, so no server reloads it.
    version = lancedb.connect(again).open_table(PRIMER_TABLE).version
    rerun = dg.materialize([cultural_primer], resources=pipeline_resources(again))
    assert rerun.asset_materializations_for_node("cultural_primer")[0].metadata["changed"].value is False
    assert lancedb.connect(again).open_table(PRIMER_TABLE).version == version


def test_a_knowledge_base_too_small_for_the_minimum_is_not_published(tmp_path):
    data_uri = str(tmp_path / "stores")
    resources = pipeline_resources(data_uri)
    dg.materialize([cultural_topics, curated_insights], resources=resources)
    resources["claude"] = type(resources["claude"])(claude_cache_min_tokens=100_000)
    result = dg.materialize([cultural_primer], resources=resources, raise_on_error=False)
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and "100000" in check.description
    assert PRIMER_TABLE not in lancedb.connect(data_uri).table_names()


def _rules() -> str:
    from jiwa.prompts import load_prompt

    return load_prompt("responder").system.strip()


async def _metric(client, line: str) -> float:
    text = (await client.get("/metrics")).text
    found = [row for row in text.splitlines() if row.startswith(line + " ")]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


async def test_the_primer_rides_in_the_cached_prefix_and_the_next_turns_read_it(published, claude):
    async with AsyncTestClient(app=create_app(server_settings(published, claude.url))) as client:
        first = await client.post("/v1/chat", json={"user_id": "p1", "message": "Apa itu KITAS?"}, headers=auth())
        assert first.json()["source"] == "claude"
        sent = claude.requests[-1]["body"]
        rules, primer, data = sent["system"]
        assert "cache_control" not in rules and rules["text"] == _rules()
        assert primer["text"] == _primer_row(published)["text"]
        assert primer["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
        assert "cache_control" not in data and data["text"].startswith("<jiwa_data>")
        prefix = count_tokens(rules["text"]) + count_tokens(primer["text"])
        assert prefix >= required_local_tokens(cache_minimum(sent["model"]))

        haiku = 'model="claude-haiku-4-5"'
        assert await _metric(client, f'jiwa_claude_tokens_total{{kind="cache_write",{haiku}}}') == prefix
        second = await client.post("/v1/chat", json={"user_id": "p2", "message": "Ciao, come va?"}, headers=auth())
        assert second.json()["source"] == "claude"
        assert await _metric(client, f'jiwa_claude_tokens_total{{kind="cache_read",{haiku}}}') == prefix
        # The rest of the input, the data block and the message, is all that is billed in full.
        input_tokens = await _metric(client, f'jiwa_claude_tokens_total{{kind="input",{haiku}}}')
        assert 0 < input_tokens < prefix
        saved = await _metric(client, f"jiwa_claude_cache_saved_usd_total{{{haiku}}}")
        assert saved == pytest.approx(0.9 * prefix / 1e6)

        async with client.stream(
            "POST", "/v1/chat", json={"user_id": "p3", "message": "Apa itu NPWP?", "stream": True}, headers=auth()
        ) as response:
            raw = "".join([chunk async for chunk in response.aiter_text()])
        assert json.loads(next(data for name, data in sse_events(raw) if name == "done"))["source"] == "claude"
        assert await _metric(client, f'jiwa_claude_tokens_total{{kind="cache_read",{haiku}}}') == 2 * prefix
        assert await _metric(client, f'jiwa_claude_prefix_cache_total{{{haiku},outcome="read"}}') == 2
        assert await _metric(client, f'jiwa_claude_prefix_cache_total{{{haiku},outcome="write"}}') == 1
        assert await _metric(client, f'jiwa_claude_tokens_total{{kind="output",{haiku}}}') > 0
        assert await _metric(client, "jiwa_claude_prefix_tokens") == prefix
        assert await _metric(client, 'jiwa_store_loaded{store="cultural_primer"}') == 1

        ready = (await client.get("/ready")).json()
        assert ready["stores"]["cultural_primer"]["cacheable"] == {"claude-haiku-4-5": True, "claude-sonnet-4-5": True}


async def test_the_five_minute_cache_is_configurable(published, claude):
    settings = server_settings(published, claude.url, claude_cache_ttl="5m")
    async with AsyncTestClient(app=create_app(settings)) as client:
        await client.post("/v1/chat", json={"user_id": "p4", "message": "Halo"}, headers=auth())
    assert claude.requests[-1]["body"]["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}


async def test_without_a_primer_the_server_is_ready_and_says_what_is_missing(data_uri, claude, resources):
    from tests.support.server import publish_curated

    publish_curated(resources)
    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        ready = await client.get("/ready")
        await client.post("/v1/chat", json={"user_id": "p5", "message": "Halo"}, headers=auth())
        metrics = (await client.get("/metrics")).text
    assert ready.status_code == 200
    assert ready.json()["stores"]["cultural_primer"]["missing"] is True
    assert "cultural_primer" in ready.json()["stores"]["cultural_primer"]["error"]
    assert 'jiwa_store_loaded{store="cultural_primer"} 0.0' in metrics
    assert len(claude.requests[-1]["body"]["system"]) == 2
    assert startup_problem(server_settings(data_uri, claude.url, claude_cache_min_tokens=100_000), _rules()) is None


def test_the_server_refuses_to_start_when_the_prefix_cannot_be_cached(published, claude):
    import os
    import subprocess
    import sys

    environment = {
        **os.environ,
        "JIWA_DATA_URI": published,
        "JIWA_PORT": str(free_port()),
        "JIWA_ANTHROPIC_BASE_URL": claude.url,
        "JIWA_LOCAL_RESPONDER": "false",
        "JIWA_CLAUDE_CACHE_MIN_TOKENS": "100000",
    }
    result = subprocess.run(
        [sys.executable, "-m", "serving"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    [message] = [
        record["message"] for record in map(json.loads, result.stderr.splitlines()) if record["level"] == "CRITICAL"
    ]
    prefix = count_tokens(_rules()) + count_tokens(_primer_row(published)["text"])
    assert f"claude-haiku-4-5: the cached prefix (rules and primer) has {prefix} tokens" in message
    assert "it needs 120000 (100000 x 1.2 margin)" in message and "cultural_primer" in message


def test_anthropic_can_count_the_prefix_exactly(published, claude):
    settings = server_settings(published, claude.url, claude_count_tokens=True, claude_cache_min_tokens=100_000)
    problem = startup_problem(settings, _rules())
    assert "counted by Anthropic" in problem and "it needs 100000 (100000)" in problem
    assert claude.requests[-1]["count_tokens"] is True
    fits = server_settings(published, claude.url, claude_count_tokens=True)
    assert startup_problem(fits, _rules()) is None
