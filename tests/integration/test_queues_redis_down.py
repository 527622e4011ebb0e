"""The queue API while the queues' Redis is down, and on the first calls after it came back (empty): 503 in the
envelope with Retry-After while down, never a 500; the right answers at once after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, serving
from tests.integration.helpers import register
from tests.own_redis import OwnRedis
from watchparty.config import Settings
from watchparty.models import UserRole
from watchparty.users import service as users_service

pytestmark = pytest.mark.slow

CALLS = [
    ("GET", "/api/queues/stats", None),
    ("GET", "/api/queues/dashboard", None),
    ("GET", "/api/queues/jobs/email-o1.abc", None),
    ("POST", "/api/queues/jobs/email-o1.abc/retry", None),
    ("POST", "/api/queues/cleanup", {"daysInactive": 30}),
    ("GET", "/api/queues/reports", None),
]


@pytest.fixture
async def api(
    own_redis: OwnRedis, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    s = make_settings(settings.database_url, tmp_path, **own_redis.urls())
    async with serving(s, raise_app_exceptions=False) as (c, services):
        admin = await register(c, "boss")
        async with services.db.session() as session:
            await users_service.set_role(session, admin.id, UserRole.ADMIN)
        yield c, admin.headers


async def _statuses(c: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, tuple[int, str]]:
    out = {}
    for method, path, body in CALLS:
        r = await c.request(method, path, json=body, headers=headers)
        code = r.json()["error"]["code"] if r.status_code >= 400 else "ok"
        out[f"{method} {path}"] = (r.status_code, code)
        if r.status_code == 503:
            assert r.headers["retry-after"] == "5"
    return out


async def test_queue_api_with_redis_down_then_back(
    api: tuple[httpx.AsyncClient, dict[str, str]], own_redis: OwnRedis
) -> None:
    c, headers = api
    up = await _statuses(c, headers)
    assert up["GET /api/queues/stats"] == (200, "ok")
    own_redis.kill()
    down = await _statuses(c, headers)
    in_the_database = {"POST /api/queues/cleanup", "GET /api/queues/reports"}  # the outbox keeps the job; rows
    assert {k: v for k, v in down.items() if k not in in_the_database} == {
        k: (503, "service_unavailable") for k in down if k not in in_the_database
    }
    assert {k: down[k] for k in in_the_database} == {k: up[k] for k in in_the_database}
    own_redis.start()  # the same port, empty
    await asyncio.sleep(0.05)
    assert await _statuses(c, headers) == up  # the very first calls after it came back
