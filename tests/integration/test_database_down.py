"""A database that cannot serve gives 503 with Retry-After in the envelope, on every kind of route (cached reads
through the cache layer, authenticated reads, writes), never a 500 (issue 19, item 1). The failures are real:
PostgreSQL refusing a role's connections ("too many connections", SQLSTATE 53300), a port where nothing listens,
and a SQLite file that cannot be opened."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from tests.conftest import BACKEND, RUN_ID
from tests.integration.helpers import create_room, register
from watchparty.app import create_app
from watchparty.config import Settings
from watchparty.core.middleware import RequestContextMiddleware
from watchparty.core.responses import is_unavailable
from watchparty.jobs.queues import QueueUnavailable


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                    "-c", sql], check=True, capture_output=True)  # fmt: skip


@asynccontextmanager
async def app_on(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def broken_database_urls(settings: Settings, tmp_path: Path) -> list[tuple[str, str]]:
    """(what is wrong, DATABASE_URL) for this run's backend."""
    if BACKEND == "sqlite":
        return [("a file that cannot be opened", f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/x.db")]
    parts = urlsplit(settings.database_url)
    role = f"wp_refused_{RUN_ID}".lower()
    _psql(f'DROP ROLE IF EXISTS "{role}"')
    _psql(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')  # every connection: too many connections for role
    refused = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
    nothing = urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{_closed_port()}"))
    return [("PostgreSQL refusing connections (53300)", refused), ("no server on the port", nothing)]


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_every_route_answers_503_in_the_envelope_while_the_database_cannot_serve(
    client: httpx.AsyncClient, settings: Settings, broken_database_urls: list[tuple[str, str]]
) -> None:
    ann = await register(client, "ann_dbdown")
    room = await create_room(client, ann)
    try:
        for what, url in broken_database_urls:
            broken = settings.model_copy(update={"database_url": url, "worker_in_process": False,
                                                 "key_prefix": f"{settings.key_prefix}-dbdown"})  # fmt: skip
            async with app_on(broken) as app:
                transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                    calls = [
                        ("GET", "/api/rooms", None, {}),  # cached, anonymous
                        ("GET", f"/api/rooms/{room['id']}", None, ann.headers),  # cached, the caller authorised
                        ("GET", "/api/movies", None, {}),
                        ("GET", "/api/auth/profile", None, ann.headers),
                        ("GET", f"/api/chat/{room['id']}/messages", None, ann.headers),
                        ("POST", "/api/auth/login", {"email": "ann_dbdown@example.com", "password": "x" * 12}, {}),
                        ("POST", "/api/rooms", {"name": "Down"}, ann.headers),
                        ("POST", "/api/uploads", {"title": "t", "filename": "f.mp4", "size": 10}, ann.headers),
                    ]
                    for method, path, body, headers in calls:
                        r = await http.request(method, path, json=body, headers=headers)
                        assert r.status_code == 503, (what, method, path, r.status_code, r.text)
                        assert r.json()["error"]["code"] == "service_unavailable", (what, path)
                        assert r.headers["retry-after"] == "5" and r.headers["x-request-id"], (what, path)
    finally:
        if BACKEND != "sqlite":
            _psql(f'DROP ROLE IF EXISTS "wp_refused_{RUN_ID}"'.lower())


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (DBAPIError("SELECT 1", None, _PgError("53300")), True),  # too many connections
        (DBAPIError("SELECT 1", None, _PgError("57P03")), True),  # cannot connect now (starting up)
        (DBAPIError("SELECT 1", None, _PgError("57P01")), True),  # admin shutdown
        (DBAPIError("SELECT 1", None, _PgError("08006")), True),  # connection failure
        (DBAPIError("SELECT 1", None, _PgError("23505")), False),  # a unique violation is our bug, not an outage
        (QueueUnavailable("redis"), True),
        (ConnectionRefusedError(), True),
        (ValueError("x"), False),
    ],
)
def test_one_classification_of_unavailable(error: Exception, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable


@pytest.mark.parametrize(("error", "status"), [(DBAPIError("x", None, _PgError("57P03")), 503), (RuntimeError(), 500)])
async def test_what_escapes_our_middleware_still_gets_the_envelope(error: Exception, status: int) -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise error

    transport = httpx.ASGITransport(app=RequestContextMiddleware(failing), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        r = await http.get("/api/rooms")
    assert r.status_code == status and r.headers["x-request-id"]
    assert r.json()["error"]["code"] == ("service_unavailable" if status == 503 else "internal_error")
