"""One mapping from exceptions to JSON error responses; a client never sees a bare 500."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from serving.domain import (
    ConversationNotFound,
    ConversationOfAnotherUser,
    DomainError,
    EmptyMessage,
    MessageNotFound,
    MessageTooLong,
    UserNotFound,
)

log = logging.getLogger("jiwa.serving")


class JiwaError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers = headers or {}


class NotFound(JiwaError):
    status_code = 404
    code = "not_found"


class Forbidden(JiwaError):
    status_code = 403
    code = "forbidden"


class Unauthorized(JiwaError):
    status_code = 401
    code = "unauthorized"


class PayloadTooLarge(JiwaError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(JiwaError):
    status_code = 429
    code = "rate_limited"


class Unavailable(JiwaError):
    status_code = 503
    code = "unavailable"


# What each error of the services (serving/domain.py) is over HTTP: its status and code, looked up by class.
DOMAIN_STATUSES: dict[type[DomainError], tuple[int, str]] = {
    DomainError: (400, "bad_request"),
    EmptyMessage: (400, "bad_request"),
    MessageTooLong: (413, "payload_too_large"),
    UserNotFound: (404, "not_found"),
    ConversationNotFound: (404, "not_found"),
    ConversationOfAnotherUser: (403, "forbidden"),
    MessageNotFound: (404, "not_found"),
}


def _body(code: str, detail: str, field: str | None = None) -> dict:
    # OpenAI's error shape, so OpenAI clients surface the message; `param` names the offending field.
    return {"error": {"code": code, "message": detail, "param": field}}


def jiwa_error(request: Request, exc: JiwaError) -> Response:
    return Response(
        _body(exc.code, exc.detail, exc.field),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=MediaType.JSON,
    )


def domain_error(request: Request, exc: DomainError) -> Response:
    status_code, code = next(DOMAIN_STATUSES[kind] for kind in type(exc).__mro__ if kind in DOMAIN_STATUSES)
    return Response(_body(code, exc.detail, exc.field), status_code=status_code, media_type=MediaType.JSON)


def validation_error(request: Request, exc: ValidationException) -> Response:
    problems = exc.extra if isinstance(exc.extra, list) else []
    first = problems[0] if problems and isinstance(problems[0], dict) else {}
    field = first.get("key")
    message = first.get("message") or exc.detail
    detail = f"{field}: {message}" if field else str(message)
    if problems and len(problems) > 1:
        detail += f" (and {len(problems) - 1} more problem(s))"
    return Response(
        _body("invalid_request", f"{detail}. Fix the request body and retry.", field),
        status_code=400,
        media_type=MediaType.JSON,
    )


CLIENT_LEFT = "client disconnected prematurely"  # what Litestar raises when the client leaves mid-body


def http_error(request: Request, exc: HTTPException) -> Response:
    code = {
        400: "invalid_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    if exc.detail == CLIENT_LEFT:
        # Not our error: nobody is left to read a response, and nothing of the request was stored.
        log.info("client left before sending the whole body of %s %s", request.method, request.url.path)
        return Response(
            _body("client_closed_request", "The client left before sending the whole body."), status_code=400
        )
    if exc.status_code >= 500:
        return unexpected_error(request, exc)
    detail = str(exc.detail)
    if exc.status_code == 400:
        detail += ". Send a JSON body that matches the API schema (see /schema)."
    return Response(_body(code, detail), status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)


def unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    log.exception("unhandled error in %s %s (request %s)", request.method, request.url.path, request_id)
    return Response(
        _body(
            "internal_error",
            f"Something went wrong on our side; nothing you sent was lost. Quote request id {request_id}.",
        ),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


def undecodable_body(request: Request, exc: Exception) -> Response:
    """Bodies the JSON decoder cannot read at all: not UTF-8, or nested deeper than any real request."""
    if isinstance(exc, RecursionError) and "deserializing" not in str(exc):
        return unexpected_error(request, exc)
    detail = (
        "the request body is not valid UTF-8; send JSON encoded as UTF-8"
        if isinstance(exc, UnicodeDecodeError)
        else "the request body nests JSON too deeply; send a flat JSON object that matches the API schema"
    )
    return Response(_body("invalid_request", f"{detail}."), status_code=400, media_type=MediaType.JSON)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    JiwaError: jiwa_error,
    DomainError: domain_error,
    UnicodeDecodeError: undecodable_body,
    RecursionError: undecodable_body,
    ValidationException: validation_error,
    NotAuthorizedException: http_error,
    PermissionDeniedException: http_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def documented(*statuses: int) -> dict:
    """OpenAPI entries for the error statuses a handler can answer, all with the same body."""
    from litestar.openapi import ResponseSpec

    from serving.schemas import ErrorBody

    descriptions = {
        400: "The body or a parameter is invalid; `param` names it.",
        401: "Missing or unknown API key.",
        403: "The user, conversation or message belongs to another API key.",
        404: "No such conversation, message or user.",
        413: "The message is longer than the limit.",
        429: "Rate limit reached; see Retry-After.",
        503: "A store the server needs is unusable.",
    }
    return {
        status: ResponseSpec(ErrorBody, description=descriptions[status], generate_examples=False)
        for status in statuses
    }


AUTHENTICATED = (401, 429)
