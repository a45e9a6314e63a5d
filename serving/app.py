"""The Litestar chat server: create_app() builds it; the lifespan opens stores and clients once."""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.openapi import OpenAPIConfig

from jiwa.conversations.repository import ConversationRepository
from jiwa.settings import Settings, get_settings
from serving.body_timeout import body_read_timeout
from serving.controllers.chat import ChatController
from serving.controllers.completions import CompletionsController
from serving.controllers.conversations import ConversationController
from serving.controllers.health import HealthController
from serving.controllers.memory import MemoryController
from serving.controllers.messages import MessageController
from serving.controllers.users import UserController
from serving.dependencies import DEPENDENCIES
from serving.errors import EXCEPTION_HANDLERS
from serving.openapi import declare_body_rules
from serving.runtime import tuned_for_the_tail
from serving.services import open_services

REQUEST_ID_HEADER = "X-Request-Id"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id_var.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The HTTP clients' INFO line for every request they send (each call to Claude) says nothing the metrics do not,
    # and is one more write on the event loop's thread per reply; their warnings and errors still show.
    for client in ("httpx", "httpx2"):
        logging.getLogger(client).setLevel(max(level, logging.WARNING))


async def _assign_request_id(request: Request) -> None:
    request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    request_id_var.set(request_id[:64])
    request.scope.setdefault("state", {})["request_id"] = request_id_var.get()


async def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id_var.get()
    return response


def create_app(settings: Settings | None = None, repository: ConversationRepository | None = None) -> Litestar:
    """`repository`: the conversation store already opened (and migrated) by the caller, which the app then owns;
    None opens it in the lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar):
        app.state.services = await open_services(settings, repository)
        try:
            with tuned_for_the_tail(app.state.services.metrics):
                yield
        finally:
            await app.state.services.close()

    app = Litestar(
        route_handlers=[
            ChatController,
            CompletionsController,
            ConversationController,
            MessageController,
            UserController,
            MemoryController,
            HealthController,
        ],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[body_read_timeout(settings.body_read_timeout_s)],
        # Logging is configure_logging()'s: Litestar's default config would replace the JSON handler on the root logger.
        logging_config=None,
        before_request=_assign_request_id,
        after_request=_echo_request_id,
        # Room for the longest allowed message in JSON; anything larger is refused with 413 before parsing.
        request_max_body_size=max(64 * 1024, settings.max_message_chars * 8),
        openapi_config=OpenAPIConfig(
            title="Jiwa", version="0.1.0", description="Chat with Jiwa, grounded in what LLAMA built offline."
        ),
    )
    declare_body_rules(app)
    return app
