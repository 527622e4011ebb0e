"""GET /api/health in the original's shape, and 503 when the database is gone."""

from __future__ import annotations

from pathlib import Path

import httpx

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


async def test_health_is_503_without_a_database(tmp_path: Path) -> None:
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none", tmp_path)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/api/health")
        rooms = await c.get("/api/rooms")
    assert (rooms.status_code, rooms.json()["error"]["code"]) == (503, "service_unavailable")
    assert rooms.headers["retry-after"]
    assert r.status_code == 503
    assert r.json()["database"] == "disconnected"
    assert r.headers["retry-after"]
