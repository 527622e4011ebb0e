"""A frozen Redis costs a few waits, not one per request: chat posts and ws-tickets, whose Redis client
(the realtime hub's) has seconds of patience, fail fast once it stopped answering, and recover when it answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, serving
from tests.integration.helpers import create_room, register
from tests.own_redis import OwnRedis
from watchparty.config import Settings

pytestmark = pytest.mark.slow

PAUSE_S = 12.0  # the breaker's pause; longer than the frozen stretch below, so the test counts every wait


@pytest.fixture
async def api(
    own_redis: OwnRedis, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    s = make_settings(settings.database_url, tmp_path, **own_redis.urls(), cache_breaker_open_seconds=PAUSE_S)
    async with serving(s) as (c, _):
        yield c


async def test_chat_posts_and_tickets_on_a_frozen_redis(api: httpx.AsyncClient, own_redis: OwnRedis) -> None:
    host = await register(api, "host")
    room = await create_room(api, host)
    chat, ticket = f"/api/chat/{room['id']}/messages", f"/api/rooms/{room['id']}/ws-ticket"
    assert (await api.post(ticket, headers=host.headers)).status_code == 201
    own_redis.freeze()
    waits: list[tuple[str, int, float]] = []
    try:
        started = time.monotonic()
        for i in range(4):
            for what, call in (
                ("chat", api.post(chat, json={"content": f"frozen {i}"}, headers=host.headers)),
                ("ticket", api.post(ticket, headers=host.headers)),
            ):
                t0 = time.monotonic()
                r = await call
                waits.append((what, r.status_code, time.monotonic() - t0))
        frozen_for = time.monotonic() - started
    finally:
        own_redis.thaw()
    assert frozen_for < PAUSE_S, "the frozen stretch outlasted the breaker's pause; the count below assumes not"
    statuses = {(what, code) for what, code, _ in waits}
    assert statuses <= {("chat", 201), ("ticket", 503)}, waits  # the message is kept; a ticket needs Redis
    slow = [w for w in waits if w[2] >= 1.0]
    print(f"{len(waits)} requests on a frozen Redis, {len(slow)} waited: {[round(w[2], 2) for w in slow]}")
    # the three in a row that found Redis frozen waited out the hub's 2 s (CACHE_BREAKER_FAILURES); none after them
    assert len(slow) <= 3, waits
    history = (await api.get(chat)).json()["data"]
    assert [m["content"] for m in history][-4:] == [f"frozen {i}" for i in range(4)]
    # Redis answers again: tickets come back once the pause is over, without a restart
    deadline = time.monotonic() + PAUSE_S + 10
    while (r := await api.post(ticket, headers=host.headers)).status_code != 201:
        assert r.status_code == 503
        assert time.monotonic() < deadline, "tickets did not come back"
        await asyncio.sleep(0.2)
