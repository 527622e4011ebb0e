"""Two real `watchparty serve` processes on one PostgreSQL and one Redis: a write on one is seen on the other."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import LiveServer, running_pair, server_env
from watchparty.config import Settings

pytestmark = pytest.mark.slow

BOUND_MS = 300


@pytest.fixture(scope="module")
def pair(
    settings: Settings, e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = server_env(settings, e2e_database_url, f"{settings.key_prefix}-pair", CACHE_L1_REVALIDATE_MS=str(BOUND_MS))
    with running_pair(env, tmp_path_factory) as both:
        yield both


def test_reads_on_b_never_return_old_values_after_the_bound(pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = (httpx.Client(base_url=s.url, timeout=10) for s in pair)
    r = a.post(
        "/api/auth/register", json={"email": "two@example.com", "username": "twoproc", "password": "long enough"}
    )
    auth = {"Authorization": f"Bearer {r.json()['data']['token']}"}
    room = a.post("/api/rooms", json={"name": "v0"}, headers=auth).json()["data"]
    stale = 0
    for i in range(1, 16):
        b.get(f"/api/rooms/{room['id']}")  # B caches the old value
        b.get(f"/api/rooms/{room['id']}")
        assert a.put(f"/api/rooms/{room['id']}", json={"name": f"v{i}"}, headers=auth).status_code == 200
        time.sleep(BOUND_MS / 1000)
        stale += b.get(f"/api/rooms/{room['id']}").json()["data"]["name"] != f"v{i}"
        # chat through A, read through B
        a.post(f"/api/chat/{room['id']}/messages", json={"content": f"m{i}"}, headers=auth)
        time.sleep(BOUND_MS / 1000)
        stale += b.get(f"/api/chat/{room['id']}/messages").json()["data"][-1]["content"] != f"m{i}"
    assert stale == 0
