"""What the finished_conversations sensor asked for: it names conversations by keyed token; tests know the ids."""

from jiwa.conversations import sqlite_url
from jiwa.conversations.reader import EventReader
from jiwa.enrichment.tokens import conversation_token, resolve, token_key


def requested_conversations(data_uri: str, requests) -> list[str]:
    """The conversation ids behind the tokens of these run requests, in order."""
    tokens = [
        token
        for request in requests
        for token in request.run_config["ops"]["conversation_analyses"]["config"]["conversation_tokens"]
    ]
    known = EventReader(sqlite_url(data_uri)).query("SELECT DISTINCT conversation_id FROM events")
    ids = resolve(token_key(data_uri), tokens, known.column("conversation_id").to_pylist())
    assert len(ids) == len(tokens), "a token matched no stored conversation"
    return ids


def token_of(data_uri: str, conversation_id: str) -> str:
    return conversation_token(token_key(data_uri), conversation_id)
