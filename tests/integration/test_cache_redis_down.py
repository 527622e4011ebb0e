"""Redis killed, frozen and restarted under a running API: no server errors, correct data, recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, serving
from tests.integration.helpers import create_room, register
from tests.own_redis import OwnRedis, free_port
from watchparty.config import Settings
from watchparty.core.redis import ping

pytestmark = pytest.mark.slow


@pytest.fixture
async def api(
    own_redis: OwnRedis, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    s = make_settings(settings.database_url, tmp_path, **own_redis.urls(), cache_breaker_open_seconds=0.3)
    async with serving(s) as (c, _):
        await asyncio.sleep(0.05)
        yield c


async def _hit_ratio(api: httpx.AsyncClient, path: str, n: int = 20) -> float:
    hits = 0
    for _ in range(n):
        r = await api.get(path)
        assert r.status_code == 200
        hits += r.headers["x-cache"] == "HIT"
    return hits / n


async def test_redis_killed_then_restarted(api: httpx.AsyncClient, own_redis: OwnRedis) -> None:
    host = await register(api, "host")
    room = await create_room(api, host, name="before")
    assert await _hit_ratio(api, "/api/rooms") >= 0.9
    assert (await api.get("/api/health")).json()["redis"] == "connected"

    own_redis.kill()
    statuses = []
    for i in range(30):
        started = time.monotonic()
        r = await api.put(f"/api/rooms/{room['id']}", json={"name": f"during {i}"}, headers=host.headers)
        statuses.append(r.status_code)
        listed = await api.get("/api/rooms")
        statuses.append(listed.status_code)
        assert listed.json()["data"][0]["name"] == f"during {i}"  # correct data, straight from the database
        assert time.monotonic() - started < 5
    assert set(statuses) == {200}
    health = await api.get("/api/health")
    assert (health.status_code, health.json()["redis"]) == (200, "disconnected")

    own_redis.start()  # same port, empty: what was cached before is gone
    await asyncio.sleep(0.4)  # the breaker's pause
    ratio = 0.0
    deadline = time.monotonic() + 10
    while ratio < 0.9:
        assert time.monotonic() < deadline, "the hit ratio did not recover"
        ratio = await _hit_ratio(api, "/api/rooms")
    assert (await api.get("/api/rooms")).json()["data"][0]["name"] == "during 29"
    assert (await api.get("/api/health")).json()["redis"] == "connected"


async def test_redis_frozen_then_thawed(api: httpx.AsyncClient, own_redis: OwnRedis) -> None:
    host = await register(api, "host")
    room = await create_room(api, host, name="before")
    await _hit_ratio(api, "/api/rooms")
    own_redis.freeze()
    try:
        for i in range(10):
            r = await api.put(f"/api/rooms/{room['id']}", json={"name": f"frozen {i}"}, headers=host.headers)
            assert r.status_code == 200
            listed = await api.get("/api/rooms")
            assert (listed.status_code, listed.json()["data"][0]["name"]) == (200, f"frozen {i}")
    finally:
        own_redis.thaw()
    await asyncio.sleep(0.4)
    # The invalidations that could not be written during the freeze were replayed: nothing stale comes back.
    deadline = time.monotonic() + 10
    while await _hit_ratio(api, "/api/rooms") < 0.9:
        assert time.monotonic() < deadline
    assert (await api.get("/api/rooms")).json()["data"][0]["name"] == "frozen 9"


async def test_ping_reports_a_dead_redis_quickly(settings: Settings) -> None:
    from watchparty.core.redis import make_client

    client = make_client(f"redis://127.0.0.1:{free_port()}/0", settings)
    started = time.monotonic()
    assert await ping(client) is False
    assert time.monotonic() - started < 1.0
    await client.aclose()
