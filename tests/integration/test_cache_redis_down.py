"""Redis killed, frozen and restarted under a running API: no server errors, correct data, recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.integration.helpers import create_room, register
from watchparty.app import create_app
from watchparty.config import Settings
from watchparty.core.embedded_redis import find_server_binary
from watchparty.core.redis import ping

pytestmark = pytest.mark.slow


class OwnRedis:
    """A redis-server of this test's own, on its own port, so that stopping it harms nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                find_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(7).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.thaw()
        server.kill()


@pytest.fixture
async def api(
    own_redis: OwnRedis, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    s = make_settings(
        settings.database_url,
        tmp_path,
        redis_url=f"redis://127.0.0.1:{own_redis.port}/0",
        cache_redis_url=f"redis://127.0.0.1:{own_redis.port}/1",
        cache_breaker_open_seconds=0.3,
    )
    app = create_app(s)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
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

    client = make_client(f"redis://127.0.0.1:{_free_port()}/0", settings)
    started = time.monotonic()
    assert await ping(client) is False
    assert time.monotonic() - started < 1.0
    await client.aclose()
