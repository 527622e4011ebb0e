"""Pure ASGI middleware: request ids with access logs, and a streaming body-size limit."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any, ClassVar

import anyio
import orjson
from fastapi import HTTPException
from granian.utils.proxies import wrap_asgi_with_proxy_headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchparty.core.errors import PayloadTooLarge
from watchparty.core.logging import access_log, request_id_var
from watchparty.core.responses import UNAVAILABLE_MESSAGE, error_response, is_unavailable

log = logging.getLogger("watchparty.errors")

# Request ids: a random per-process prefix and a counter. Unique across processes and restarts (48 random bits),
# and unlike os.urandom per request, free; an id identifies a request, it is not a secret.
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)


def _new_id_prefix() -> None:  # a forked worker (granian --workers) gets its own prefix
    global _ID_PREFIX, _id_counter
    _ID_PREFIX, _id_counter = os.urandom(6).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)
_VALID_REQUEST_ID = re.compile(r"^[\w.-]{1,64}$")


class RequestContextMiddleware:
    """Gives each request an id (or keeps a sane incoming X-Request-ID) and writes one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                if _VALID_REQUEST_ID.match(incoming):
                    request_id = incoming
                break
        if not request_id:
            request_id = f"{_ID_PREFIX}{next(_id_counter):x}"
        header = (b"x-request-id", request_id.encode())
        token = request_id_var.set(request_id)
        scope["request_id"] = request_id  # error handlers run outside this middleware
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # The last resort, for what escapes our own middleware (FastAPI's handlers sit inside it): the envelope,
            # 503 for a dependency that is down, else a logged 500; never the server's bare text
            if started_response:
                raise
            if is_unavailable(exc):
                log.warning("dependency unavailable on %s %s: %s", scope["method"], scope["path"], type(exc).__name__)
                response = error_response(503, "service_unavailable", UNAVAILABLE_MESSAGE, headers={"Retry-After": "5"})
            else:
                log.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc)
                response = error_response(500, "internal_error", "An unexpected error occurred")
            await response(scope, receive, send_with_id)
        finally:
            if access_log.enabled():
                # The path only: query strings may carry tokens.
                duration = round((time.perf_counter() - started) * 1000, 2)
                access_log.write(request_id, scope["method"], scope["path"], status, duration)
            request_id_var.reset(token)


class ProxyHeadersMiddleware:
    """The client's address (and scheme) from X-Forwarded-For (-Proto), when the peer is a trusted proxy
    (FORWARDED_ALLOW_IPS): granian's own implementation, which takes the nearest address that is not a trusted
    proxy. Without it, behind a proxy every client would share the proxy's address and its rate limits."""

    def __init__(self, app: ASGIApp, trusted: str) -> None:
        self.app = wrap_asgi_with_proxy_headers(app, trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses bodies over a limit with 413, by Content-Length or while the body streams in. `overrides` gives
    upload routes their own limit, by a pattern the whole path must match: (bytes accepted, the file's limit that a
    413 says; the first is larger by the multipart framing)."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, tuple[int, int]] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = [(re.compile(pattern), limits) for pattern, limits in (overrides or {}).items()]

    def limits_for(self, path: str) -> tuple[int, int]:
        default = (self.max_bytes, self.max_bytes)
        return next((limits for pattern, limits in self.overrides if pattern.fullmatch(path)), default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:
            await self.app(scope, receive, send)  # no body (the usual GET): nothing to limit
            return
        limit, stated = self.limits_for(scope["path"])
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = False
            if too_big:
                await _send_413(send, stated)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _send_413(send, stated)


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI's body parsing re-raises it instead of answering 400.
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is too large")


def too_large_body(limit: int) -> bytes:
    """The 413's body for a request over `limit` bytes (the reference deployment's nginx sends the same)."""
    error = PayloadTooLarge.over(limit)
    envelope = {"code": error.code, "message": error.detail_message, "details": error.details}
    return orjson.dumps({"success": False, "error": envelope})


async def _send_413(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StaticWithHeaders(StaticFiles):
    """Static files with fixed headers; every one is sent with nosniff, so a browser never second-guesses
    the type we serve."""

    def __init__(self, *, headers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra_headers = {"X-Content-Type-Options": "nosniff", **headers}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(self.extra_headers)
        return response

    async def check_config(self) -> None:
        # A folder not made yet (a fresh deployment, before its first upload) holds nothing: every path is a 404
        if self.directory is not None and not await anyio.Path(self.directory).is_dir():
            return
        await super().check_config()


class HlsFiles(StaticWithHeaders):
    """The HLS made of uploads (ADR 0021), with byte ranges as every static file here: a playlist grows while its
    transcode runs, so it is never cached; a segment, once its name exists, never changes."""

    TYPES: ClassVar[dict[str, str]] = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        suffix = path[path.rfind(".") :] if "." in path else ""
        if response.status_code < 400 and suffix in self.TYPES:
            response.headers["Content-Type"] = self.TYPES[suffix]
        if suffix == ".m3u8":
            response.headers["Cache-Control"] = "no-cache"
        return response


# Processed uploads: names never repeat, so they cache forever; and they are never run as anything.
MEDIA_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Security-Policy": "default-src 'none'",
}
# Our own pages: scripts and styles from this origin only, never framed.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}
# The web client's shell: as our other pages, but a room's video may come from any http(s) address (a movie is
# added by its URL), posters likewise. Each media kind widens it only as far as it needs (docs/adr/0017):
# - a direct file: media-src http(s);
# - HLS (hls.js): its playlists and segments are fetched by script (connect-src http(s)) and played from a
#   MediaSource (media-src blob:), with its worker from this origin (worker-src 'self').
# Scripts stay this origin's only, and the socket is this origin's.
APP_PAGE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https: http:; "
    "media-src 'self' https: http: blob:; connect-src 'self' https: http:; worker-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}
# The client's npm libraries: their version changes only with package-lock.json, and they are scripts of ours.
VENDOR_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# The shipped sample clip: it may change between releases, so it is cached for a day, not for ever.
SAMPLE_HEADERS = {"Cache-Control": "public, max-age=86400", "Content-Security-Policy": "default-src 'none'"}
