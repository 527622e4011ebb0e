"""GET /api/health in the original's shape, and 503 when the database is gone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from watchparty.app import create_app


async def test_health_reports_database(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/health")
    body = r.json()
    assert r.status_code == 200
    assert body["success"] is True
    assert body["message"] == "WatchParty API is running"
    assert body["database"] == "connected"
    assert body["timestamp"].endswith("Z")


@pytest.mark.parametrize("cache", [True, False])  # the hot reads' loaders (cache on: misses; off: every request)
async def test_health_is_503_without_a_database(tmp_path: Path, cache: bool) -> None:
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path, cache_enabled=cache)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/api/health")
        rooms = await c.get("/api/rooms")
        chat = await c.get("/api/chat/1/messages")
        room = await c.get("/api/rooms/1")  # its authoriser reads the database before the cache
    for read in (rooms, chat, room):
        assert (read.status_code, read.json()["error"]["code"]) == (503, "service_unavailable")
        assert read.headers["retry-after"]
    assert r.status_code == 503
    assert r.json()["database"] == "disconnected"
    assert r.headers["retry-after"]
