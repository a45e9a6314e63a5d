"""Conversation ids as Dagster sees them: keyed tokens. Dagster keeps run configs and sensor cursors for as long as
its storage lives, beyond any forget; a token can be matched to a conversation only by someone holding both the key
(in the data folder, beside the stores) and the conversation id (in the conversation store, until it is forgotten).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import pyarrow.fs as pafs

KEY_FILE = "conversation_tokens.key"


def token_key(data_uri: str) -> bytes:
    """This installation's key, created on first use in the data folder (a local folder or a bucket)."""
    location = f"{data_uri.rstrip('/')}/{KEY_FILE}" if "://" in data_uri else str(Path(data_uri).resolve() / KEY_FILE)
    filesystem, path = pafs.FileSystem.from_uri(location)
    if filesystem.get_file_info(path).type == pafs.FileType.File:
        with filesystem.open_input_stream(path) as stream:
            return stream.read()
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    key = secrets.token_bytes(32)
    with filesystem.open_output_stream(path) as stream:
        stream.write(key)
    return key


def conversation_token(key: bytes, conversation_id: str) -> str:
    return "ct_" + hmac.new(key, conversation_id.encode(), hashlib.sha256).hexdigest()[:24]


def resolve(key: bytes, tokens: list[str], conversation_ids) -> list[str]:
    """The conversation ids behind these tokens, among the given ids, in the tokens' order; unknown tokens (a
    conversation forgotten since, or older than the window searched) are left out."""
    by_token = {conversation_token(key, conversation_id): conversation_id for conversation_id in conversation_ids}
    return [by_token[token] for token in tokens if token in by_token]
