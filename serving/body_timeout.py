"""A request body must arrive in time: a client that declares a length and stalls gets a 408 instead of holding
a worker forever. Only the body is timed; once it is complete, the app may wait on the connection as long as it
likes (a streamed reply listens for the client leaving)."""

from __future__ import annotations

import asyncio

from serving.errors import JiwaError


class BodyTimeout(JiwaError):
    status_code = 408
    code = "request_timeout"


def body_read_timeout(timeout_s: float):
    """Litestar middleware factory: each wait for the next part of the body is bounded by timeout_s."""

    def middleware(app):
        async def timed(scope, receive, send):
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            body_done = False

            async def receive_in_time():
                nonlocal body_done
                if body_done:
                    return await receive()
                try:
                    message = await asyncio.wait_for(receive(), timeout_s)
                except TimeoutError:
                    body_done = True
                    raise BodyTimeout(
                        f"the request body did not arrive within {timeout_s:g} s of its previous part; send the "
                        "whole body with a Content-Length that matches it."
                    ) from None
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, receive_in_time, send)

        return timed

    return middleware
