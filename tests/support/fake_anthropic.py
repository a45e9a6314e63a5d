"""A local stand-in for Anthropic's Messages API, spoken to over HTTP by the real anthropic SDK.

`mode` picks the behaviour of the next requests: ok, stream errors, 429, 529, timeout, malformed.
"""

import asyncio
import json
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


class FakeAnthropic:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay_s = 0.0
        self.requests: list[dict] = []
        self.app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> "FakeAnthropic":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    @staticmethod
    def reply_text(body: dict) -> str:
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
        usage = {
            "input_tokens": 120,
            "output_tokens": 30,
            "cache_read_input_tokens": 80,
            "cache_creation_input_tokens": 0,
        }
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
