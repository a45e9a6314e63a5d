"""What `python -m bench.week` asks of the chat server over HTTP (chat, rate, end a conversation, Claude's counters
from /metrics) and reads back from the stores, and the text helpers its judging uses."""

from __future__ import annotations

import re
import warnings
from collections import defaultdict

import httpx
import lancedb

from bench.support.server import KEYS
from jiwa.store.schema import FEEDBACK_TABLE


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def chat(client: httpx.Client, tenant: str, user_id: str, message: str, conversation: str | None) -> dict:
    body = {"user_id": user_id, "message": message}
    if conversation:
        body["conversation_id"] = conversation
    response = client.post("/v1/chat", json=body, headers=auth(tenant))
    response.raise_for_status()
    return response.json()


def rate(client, tenant: str, user_id: str, message_id: str, rating: str, comment: str | None = None) -> None:
    body = {"user_id": user_id, "rating": rating} | ({"comment": comment} if comment else {})
    client.post(f"/v1/messages/{message_id}/feedback", json=body, headers=auth(tenant)).raise_for_status()


def end(client, tenant: str, conversation: str | None) -> None:
    if conversation:
        client.post(f"/v1/conversations/{conversation}/end", headers=auth(tenant)).raise_for_status()


_METRIC = re.compile(r"^jiwa_claude_(tokens_total|cost_usd_total)\{([^}]*)\}\s+([0-9.eE+-]+)$")


def claude_counters(client: httpx.Client) -> dict[str, float]:
    """Claude's tokens by kind and the estimated cost so far, summed over models, from /metrics."""
    counters: defaultdict[str, float] = defaultdict(float)
    for line in client.get("/metrics").text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        kind = re.search(r'kind="([^"]+)"', labels)
        counters["cost" if name == "cost_usd_total" else kind.group(1) if kind else name] += float(value)
    return dict(counters)


def without(text: str, phrases) -> str:
    for phrase in phrases:
        text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    return text


def data_without_memory(data: str) -> str:
    """A request's data block without the user's own memory (an attacker's memory holds their own words)."""
    return re.sub(r"<user_memory>.*?</user_memory>", "", data, flags=re.DOTALL)


def table_rows(data_uri: str, table: str) -> list[dict]:
    warnings.filterwarnings("ignore", message="table_names", category=DeprecationWarning)
    db = lancedb.connect(data_uri)
    return db.open_table(table).to_arrow().to_pylist() if table in db.table_names() else []


def withheld_rows(data_uri: str) -> list[dict]:
    return [row for row in table_rows(data_uri, FEEDBACK_TABLE) if row["withheld"]]
