"""What the finished_conversations sensor asked for: it names conversations by keyed token; tests know the ids."""

import dagster as dg

from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.enrichment.sensor import finished_conversations
from jiwa.conversations import sqlite_url
from jiwa.conversations.reader import EventReader
from jiwa.enrichment.tokens import conversation_token, resolve, token_key
from tests.support.resources import pipeline_resources


def requested_conversations(data_uri: str, requests) -> list[str]:
    """The conversation ids behind the tokens of these run requests, in order."""
    tokens = [
        token
        for request in requests
        for token in request.run_config["ops"]["conversation_analyses"]["config"]["conversation_tokens"]
    ]
    known = EventReader(sqlite_url(data_uri)).query(
        "SELECT DISTINCT conversation_id FROM events WHERE conversation_id IS NOT NULL"
    )
    ids = resolve(token_key(data_uri), tokens, known.column("conversation_id").to_pylist())
    assert len(ids) == len(tokens), "a token matched no stored conversation"
    return ids


def token_of(data_uri: str, conversation_id: str) -> str:
    return conversation_token(token_key(data_uri), conversation_id)


def sensor_then_run(data_uri: str) -> list[str]:
    """One sensor tick, then the analyses and profiles it asks for; the ids of the conversations analysed."""
    resources = pipeline_resources(data_uri)
    instance = dg.DagsterInstance.ephemeral()
    sensor_resources = {"stores": resources["stores"], "analysis": resources["analysis"]}
    requests = finished_conversations(dg.build_sensor_context(resources=sensor_resources, instance=instance))
    assert isinstance(requests, list), requests
    for request in requests:
        result = dg.materialize(
            [conversation_analyses, jiwa_profiles],
            resources=resources,
            run_config=request.run_config,
            instance=instance,
        )
        assert result.success
    return requested_conversations(data_uri, requests)
