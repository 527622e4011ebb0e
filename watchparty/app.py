"""create_app(): lifespan, middleware, error handlers and the API."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from watchparty.api import CACHED_ROUTES, api_router
from watchparty.auth import service as auth_service
from watchparty.config import Settings, get_settings
from watchparty.core.deps import Services
from watchparty.core.errors import AppError
from watchparty.core.http_cache import HttpCacheMiddleware
from watchparty.core.logging import configure_logging
from watchparty.core.middleware import (
    MEDIA_HEADERS,
    PAGE_HEADERS,
    SAMPLE_HEADERS,
    BodyLimitMiddleware,
    HlsFiles,
    ProxyHeadersMiddleware,
    RequestContextMiddleware,
    StaticWithHeaders,
)
from watchparty.core.responses import (
    UNAVAILABLE_ERRORS,
    ORJSONResponse,
    handle_app_error,
    handle_unavailable,
    handle_unexpected,
    handle_validation_error,
)
from watchparty.core.schemas import ErrorEnvelope
from watchparty.movies.subtitles import MAX_SUBTITLE_BYTES
from watchparty.sync.lifecycle import running_hub
from watchparty.web import STATIC_DIR
from watchparty.web.router import handle_http_error_or_page
from watchparty.web.router import router as web_router
from watchparty.worker.lifecycle import running_jobs

_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorEnvelope, "description": text}
    for code, text in {
        400: "Malformed JSON",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Validation error",
        429: "Rate limited",
    }.items()
}


def tune_gc() -> None:
    """What start-up made (modules, routes, models: ~170,000 objects) lives as long as the process; frozen, no
    collection scans it again. And young objects are collected every 20,000 allocations instead of 700, so that
    the short-lived objects of a message burst (futures, frames) die young instead of being promoted, and full
    collections become rare. Measured with 500 sockets in one room (bench/sync.py): full-collection pauses of
    120-190 ms, the fan-out's worst outliers, are gone; no collection over 3 ms but the young generation's."""
    if gc.get_freeze_count():  # once per process: where many apps start in one process (tests), only the first
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


class WatchPartyAPI(FastAPI):
    """FastAPI, with our middleware outside its own layers instead of inside them (ADR 0011).

    `add_middleware` would put ours inside FastAPI's error and telemetry layers, and a cache HIT would pay for five
    layers it does not use. Here the stack is: our middleware (request id and access log, CORS, body limit, the
    cache's hit path), then FastAPI's stack as it builds it (unexpected errors, exception handlers, routing).
    """

    front_middleware: tuple[Middleware, ...] = ()
    # The lifespan's services, also at app.state.services; a plain attribute for the cache's hit path, where
    # Starlette's State lookup (a failed attribute lookup, then __getattr__) cost about 1 µs a request.
    services: Services | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        for middleware in reversed(self.front_middleware):
            stack = middleware.cls(stack, *middleware.args, **middleware.kwargs)
        return stack


def body_limits(settings: Settings) -> dict[str, tuple[int, int]]:
    """The routes whose bodies may be larger than MAX_BODY_BYTES: (bytes accepted, the file's limit that a 413
    says), by a pattern the whole path must match. Uploads carry the file's limit plus room for the multipart
    framing. The reference deployment's nginx refuses at the same limits (deploy/local.py renders them)."""
    return {
        "/api/auth/upload-profile-picture": (settings.avatar_max_bytes + 16 * 1024, settings.avatar_max_bytes),
        r"/api/movies/\d+/subtitles": (MAX_SUBTITLE_BYTES + 16 * 1024, MAX_SUBTITLE_BYTES),
        r"/api/uploads/\d+": (settings.upload_chunk_bytes,) * 2,  # a chunk of a video (ADR 0021), as the raw body
    }


def create_app(settings: Settings | None = None) -> WatchPartyAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: WatchPartyAPI) -> AsyncIterator[None]:
        services = Services.build(settings)
        app.state.services = app.services = services
        await services.start()
        try:
            async with running_hub(services) as hub, running_jobs(services, worker=settings.worker_in_process) as jobs:
                app.state.jobs = jobs
                app.state.hub = hub
                tune_gc()
                yield
        finally:
            await services.close()

    app = WatchPartyAPI(
        title="WatchParty API",
        version="0.1.0",
        description="Rooms, a movie catalogue, chat and synchronized playback. Errors use one envelope.",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        responses=_ERROR_RESPONSES,
        # the interactive docs load their scripts from a CDN: not in production (the OpenAPI JSON stays)
        docs_url=None if settings.environment == "production" else "/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # No OpenTelemetry here; its per-request check of the providers cost about 9 µs on the cache's hit path.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error_or_page)
    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, handle_unavailable)
    app.add_exception_handler(Exception, handle_unexpected)
    app.include_router(api_router)
    app.include_router(web_router)  # before the mounts: /app/vendor/… is a route, the rest of /app/ files
    # before /media: the HLS of uploads, whose playlists grow while they are made (never cached)
    app.mount("/media/hls", HlsFiles(directory=settings.media_dir / "hls", check_dir=False, headers=MEDIA_HEADERS))
    app.mount("/media", StaticWithHeaders(directory=settings.media_dir, check_dir=False, headers=MEDIA_HEADERS))
    app.mount("/admin", StaticWithHeaders(directory=STATIC_DIR / "admin", html=True, headers=PAGE_HEADERS))
    app.mount("/app", StaticWithHeaders(directory=STATIC_DIR / "app", headers=PAGE_HEADERS))
    app.mount("/sample", StaticWithHeaders(directory=STATIC_DIR / "sample", headers=SAMPLE_HEADERS))

    # Our middleware, outermost first. They wrap FastAPI's own layers (error handling, exception handlers, routing),
    # so a cache HIT passes through exactly these and nothing else, and a MISS through these and then the app.
    # Request ids wrap everything, so even a 413 or a 500 carries one.
    front: list[Middleware] = [Middleware(RequestContextMiddleware)]
    if settings.forwarded_allow_ips:  # outermost: everything after it sees the client's own address
        front.insert(0, Middleware(ProxyHeadersMiddleware, trusted=settings.forwarded_allow_ips))
    if settings.cors_origins:
        front.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "X-Cache", "Retry-After"],
                max_age=600,
            )
        )
    front.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, overrides=body_limits(settings)))
    front.append(Middleware(HttpCacheMiddleware, routes=CACHED_ROUTES, authenticate=auth_service.authenticate))
    app.front_middleware = tuple(front)
    return app
