"""A local stand-in for Anthropic's Messages API, spoken to over HTTP by the real anthropic SDK.

`mode` picks the behaviour of the next requests: ok, stream errors, 429, 529, timeout, malformed.

Usage is counted with Jiwa's local tokenizer, and a `cache_control` breakpoint behaves like Anthropic's prompt
cache: a prefix (the system blocks up to the breakpoint) of at least the model's documented minimum is written by
the first request and read by the next identical ones within its time to live; `input_tokens` is what remains.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from jiwa.claude_cache import cache_minimum, count_tokens

_TTL_S = {"5m": 300.0, "1h": 3600.0}


class FakeAnthropic:
    def __init__(self, *, counts_tokens: bool = True) -> None:
        """counts_tokens=False counts words instead: the usage a load test needs no precision for, at a fraction of
        the CPU, which a load generator on the server's machine would otherwise take from the server."""
        self.count = count_tokens if counts_tokens else _count_words
        self.mode = "ok"
        self.delay_s = 0.0
        self.requests: list[dict] = []
        # (model, prefix hash) -> when the cached prefix expires, on time.monotonic()
        self.cache: dict[tuple[str, str], float] = {}
        self.usages: list[dict] = []  # what each answered request reported, for the cost benchmark
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
            ]
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> Self:
        # Loading the tokenizer takes seconds: done here, the first request does not outlast a client's timeout.
        count_tokens("warm")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def reply_text(self, body: dict) -> str:
        message = body["messages"][-1]["content"]
        data = body["system"][-1]["text"] if isinstance(body["system"], list) else ""
        insights = data.count('"id":')
        return f"Halo! Here is help with: {message[:60]} (grounded in {insights} insights)"

    async def _messages(self, request: Request):
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.mode == "429":
            return JSONResponse(
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                429,
                headers={"retry-after": "0"},
            )
        if self.mode == "529":
            return JSONResponse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, 529)
        if self.mode == "timeout":
            await asyncio.sleep(30)
        if self.mode == "malformed":
            return JSONResponse({"id": "msg_x", "type": "message", "content": "not a list"}, 200)
        text = self.reply_text(body)
        usage = self.usage(body, text)
        self.usages.append(usage)
        if body.get("stream"):
            return StreamingResponse(self._events(body, text, usage), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
        )

    async def _count_tokens(self, request: Request):
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body, "count_tokens": True})
        blocks, _ = _system_blocks(body)
        return JSONResponse({"input_tokens": self._input_tokens(blocks, body)})

    def usage(self, body: dict, text: str) -> dict:
        blocks, breakpoint = _system_blocks(body)
        total = self._input_tokens(blocks, body)
        cache_creation = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
        usage: dict[str, object] = {
            "input_tokens": total,
            "output_tokens": self.count(text),
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_creation": cache_creation,
        }
        if breakpoint is None:
            return usage
        prefix = blocks[: breakpoint + 1]
        prefix_tokens = sum(self.count(block.get("text", "")) for block in prefix)
        if prefix_tokens < cache_minimum(body["model"]):
            return usage  # below the minimum Anthropic caches nothing, and says nothing
        ttl = prefix[-1]["cache_control"].get("ttl", "5m")
        key = (body["model"], hashlib.sha256(json.dumps([block["text"] for block in prefix]).encode()).hexdigest())
        now = time.monotonic()
        if self.cache.get(key, 0.0) > now:
            usage["cache_read_input_tokens"] = prefix_tokens
        else:
            usage["cache_creation_input_tokens"] = prefix_tokens
            cache_creation[f"ephemeral_{ttl}_input_tokens"] = prefix_tokens
        self.cache[key] = now + _TTL_S[ttl]  # each use refreshes the entry
        usage["input_tokens"] = total - prefix_tokens
        return usage

    def _input_tokens(self, blocks: list[dict], body: dict) -> int:
        texts = [block.get("text", "") for block in blocks]
        for message in body["messages"]:
            content = message["content"]
            texts += [content] if isinstance(content, str) else [part.get("text", "") for part in content]
        return sum(map(self.count, texts))

    async def _events(self, body: dict, text: str, usage: dict):
        def event(name: str, payload: dict) -> str:
            return f"event: {name}\ndata: {json.dumps(payload)}\n\n"

        start = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # As Anthropic streams it: input and cache usage at the start, the output count at the end.
            "usage": {**usage, "output_tokens": 1},
        }
        yield event("message_start", {"type": "message_start", "message": start})
        yield event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        for word in text.split(" "):
            yield event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word + " "}},
            )
        yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
        yield event("message_stop", {"type": "message_stop"})


def _system_blocks(body: dict) -> tuple[list[dict], int | None]:
    """The system prompt as text blocks, and the index of the last one with a cache breakpoint."""
    system = body.get("system") or []
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
    marked = [index for index, block in enumerate(blocks) if block.get("cache_control")]
    return blocks, marked[-1] if marked else None


def _count_words(text: str) -> int:
    return len(text.split())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
