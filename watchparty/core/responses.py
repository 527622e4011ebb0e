"""JSON responses (orjson) and the rendering of every error into the envelope."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from watchparty.core import field_errors
from watchparty.core.errors import AppError, DependencyUnavailable

log = logging.getLogger("watchparty.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def encode_json(content: Any) -> bytes:
    """The wire form of a response built from plain values (ADR 0012): datetimes in UTC end in "Z", as Pydantic
    writes them."""
    return orjson.dumps(content, option=orjson.OPT_UTC_Z)


class EncodedJSON(Response):
    """A response body that is already JSON bytes: FastAPI neither validates nor serialises it again."""

    media_type = "application/json"


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ORJSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return ORJSONResponse({"success": False, "error": error}, status_code=status, headers=headers)


async def handle_app_error(_request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.detail_message, exc.details, exc.headers)


async def handle_validation_error(_request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "The request body is not valid JSON")
    details = [field_errors.detail_of(_field_name(e.get("loc", ())), e) for e in errors]
    return error_response(422, "validation_error", "The request is not valid", details)


async def handle_http_error(_request: Request, exc: Exception) -> ORJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404:
        message = "Not found"
    elif exc.status_code == 405:
        message = "Method not allowed"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


# Errors that mean "a dependency is down", not "this code is wrong": 503 with Retry-After.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    DependencyUnavailable,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)
# SQLSTATE classes of a database that cannot serve now: 08 connection exception, 53 insufficient resources (too
# many connections, out of memory, disk full), 57P operator intervention (shutting down, starting up, crash).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


UNAVAILABLE_MESSAGE = "A service this request needs is unavailable; try again shortly"
CONCURRENT_MESSAGE = "What this request changes was changed or removed by another request at that moment; reload it"


def is_unavailable(exc: BaseException) -> bool:
    """The one classification of "a dependency is unavailable", for the application's handlers and the cache
    layer alike: the errors above, and a database error whose SQLSTATE says the server cannot serve now, or
    that lost its connection."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES)
    return False


async def handle_unavailable(request: Request, exc: Exception) -> ORJSONResponse:
    request_id = request.scope.get("request_id", "-")
    log.warning(
        "dependency unavailable on %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        extra={"request_id": request_id},
    )
    return error_response(503, "service_unavailable", UNAVAILABLE_MESSAGE, headers={"Retry-After": "5"})


async def handle_unexpected(request: Request, exc: Exception) -> ORJSONResponse:
    # A real 500: logged with the request id, never disguised as a client error; unless a dependency is down
    if is_unavailable(exc):
        return await handle_unavailable(request, exc)
    request_id = request.scope.get("request_id", "-")
    if isinstance(exc, StaleDataError):  # a row this request updated was deleted by another one meanwhile
        log.info("concurrent change on %s %s", request.method, request.url.path, extra={"request_id": request_id})
        return error_response(409, "conflict", CONCURRENT_MESSAGE)
    log.error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc, extra={"request_id": request_id}
    )
    return error_response(500, "internal_error", "An unexpected error occurred")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"
