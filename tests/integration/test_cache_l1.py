"""The L1 re-validates tags, not entries (ADR 0025): a warm copy is served from memory however rarely it is asked
for, and a bump, heard through pub/sub or seen only by the periodic refresh, stops every copy that carries the tag
within the bound. On a fake clock against real Redis, and across two processes with a thousand keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_PREFIX, make_settings
from tests.integration.helpers import create_room, register
from tests.integration.test_cache import another_process
from watchparty.config import Settings
from watchparty.core.cache import Cache
from watchparty.core.redis import make_client

BOUND_MS = 1000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def _cache(s: Settings, *, clock: Clock | None = None, refresh: bool = True) -> AsyncIterator[Cache]:
    url = s.effective_cache_redis_url
    assert url is not None
    cache = Cache(s, make_client(url, s))
    if clock is not None:
        cache.clock = clock
    await cache.start(refresh=refresh)
    try:
        yield cache
    finally:
        await cache.close()


@pytest.fixture
def l1_settings(settings: Settings, tmp_path: Path) -> Settings:
    prefix = f"{TEST_PREFIX}-l1-{uuid.uuid4().hex[:8]}"  # the session's clean-up drops every key under TEST_PREFIX
    return make_settings(settings.database_url, tmp_path, key_prefix=prefix, cache_l1_revalidate_ms=BOUND_MS)


async def _fill(cache: Cache, key: str, tags: tuple[str, ...], body: bytes) -> None:
    found = await cache.lookup(key, tags)
    assert found.versions is not None, found
    await cache.store(key, found.versions, body, ttl=300)


class Reads:
    """Records every key the reader's client asks Redis for (the real client still answers)."""

    def __init__(self, cache: Cache) -> None:
        self.keys: list[str] = []
        assert cache.client is not None
        real_mget, real_get = cache.client.mget, cache.client.get

        async def mget(keys: list[str], *args: Any) -> Any:
            self.keys += [k if isinstance(k, str) else k.decode() for k in keys]
            return await real_mget(keys, *args)

        async def get(key: str) -> Any:
            self.keys.append(key)
            return await real_get(key)

        cache.client.mget = mget  # type: ignore[method-assign,assignment]
        cache.client.get = get  # type: ignore[method-assign,assignment]

    def bodies(self, cache: Cache) -> list[str]:
        return [k for k in self.keys if ":tag:" not in k]


async def test_a_bump_stops_every_copy_of_its_tag_within_the_bound_heard_or_only_refreshed(
    l1_settings: Settings,
) -> None:
    clock = Clock()
    bound = BOUND_MS / 1000
    room1 = {f"{l1_settings.key_prefix}:cache:r1:{i}": (f"room:{i}", "room:1", "people") for i in range(5)}
    room2 = {f"{l1_settings.key_prefix}:cache:r2:{i}": (f"room:{10 + i}", "room:2", "people") for i in range(5)}
    async with _cache(l1_settings) as writer, _cache(l1_settings, clock=clock, refresh=False) as reader:
        await asyncio.sleep(0.05)  # the reader's listener subscribes
        for key, tags in {**room1, **room2}.items():
            await _fill(reader, key, tags, b'{"v":"old"}')
        reads = Reads(reader)

        # Warm: served from memory, and the periodic refresh keeps it so for as long as the keys are held, with one
        # MGET of the tags each time and never a body.
        for _ in range(10):
            clock.now += bound / 2
            await reader.refresh_tags()
            assert all(reader.fresh_l1(key) == b'{"v":"old"}' for key in {**room1, **room2})
        assert reads.bodies(reader) == []

        # Heard through pub/sub: every copy carrying room:1 stops at once, on a clock that has not moved.
        await writer.invalidate(["room:1"])
        deadline = time.monotonic() + 5
        while any(reader.fresh_l1(key) is not None for key in room1):
            assert time.monotonic() < deadline, "the published bump was never applied"
            await asyncio.sleep(0.01)
        assert all(reader.fresh_l1(key) == b'{"v":"old"}' for key in room2)

        # Only the refresh sees it (bumped in Redis, never published): within the bound, it may still be served;
        # from the refresh on it is not, and the other tags' copies are.
        assert writer.client is not None
        await writer.client.incr(writer.tag_key("room:2"))
        clock.now += bound * 0.4
        assert all(reader.fresh_l1(key) == b'{"v":"old"}' for key in room2)
        clock.now += bound * 0.1
        await reader.refresh_tags()
        assert all(reader.fresh_l1(key) is None for key in room2)
        for key, tags in room2.items():
            assert (await reader.lookup(key, tags)).body is None  # nor from Redis: the copies there are old too

        # No refresh at all (late, or Redis failing): a copy is not served once its tags are older than the bound,
        # and the lookup that follows asks Redis for the tags only, since L1 holds the body.
        await _fill(reader, "k", ("people",), b'{"v":"k"}')
        await writer.client.incr(writer.tag_key("people"))
        clock.now += bound * 0.99
        assert reader.fresh_l1("k") == b'{"v":"k"}'
        clock.now += bound * 0.02
        assert reader.fresh_l1("k") is None
        before = len(reads.keys)
        assert (await reader.lookup("k", ("people",))).body is None
        assert reads.keys[before:] == [reader.tag_key("people"), "k"]  # tags first; the body as L1's is out of date

        # The same, for a tag nobody bumped: the tags alone, and L1's body served.
        await _fill(reader, "j", ("catalog",), b'{"v":"j"}')
        clock.now += bound * 1.01
        before = len(reads.keys)
        assert (await reader.lookup("j", ("catalog",))).body == b'{"v":"j"}'
        assert reads.keys[before:] == [reader.tag_key("catalog")]


async def test_a_tag_redis_lost_stops_its_copies_until_a_lookup_starts_it_again(l1_settings: Settings) -> None:
    clock = Clock()
    async with _cache(l1_settings, clock=clock, refresh=False) as reader:
        await _fill(reader, "k", ("room:7",), b'{"v":"k"}')
        assert reader.client is not None
        await reader.client.delete(reader.tag_key("room:7"))  # evicted, or deleted by a refused bump elsewhere
        await reader.refresh_tags()
        assert reader.fresh_l1("k") is None
        assert (await reader.lookup("k", ("room:7",))).body is None  # started at a new epoch: the copy is old


async def test_two_processes_a_thousand_keys_no_stale_read_after_the_bound(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    host = await register(client, "keeper")
    rooms = [await create_room(client, host, name=f"room {i}") for i in range(100)]
    paths = [f"/api/rooms/{r['id']}" for r in rooms] + [f"/api/chat/{r['id']}/messages" for r in rooms]
    paths += [f"/api/rooms?page={page}&limit={limit}" for limit in range(1, 41) for page in range(1, 21)]
    assert len(paths) == 1000
    bound = settings.cache_l1_revalidate_ms / 1000
    async with another_process(settings, tmp_path) as other:
        for path in paths:  # B holds all thousand in L1
            assert (await other.get(path)).status_code == 200
        hits = [(await other.get(path)).headers["x-cache"] for path in paths]
        assert hits.count("HIT") == 1000

        for room in rooms:  # every key is made stale by one of these writes, on A
            r = await client.put(
                f"/api/rooms/{room['id']}", json={"name": f"renamed {room['id']}"}, headers=host.headers
            )
            assert r.status_code == 200, r.text
            r = await client.post(f"/api/chat/{room['id']}/messages", json={"content": "new"}, headers=host.headers)
            assert r.status_code == 201, r.text
        await asyncio.sleep(bound)

        stale = []
        for path in paths:
            data = (await other.get(path)).json()["data"]
            if path.startswith("/api/chat/"):
                fresh = any(m["content"] == "new" for m in data)
            elif "?" in path:
                fresh = all(room["name"] == f"renamed {room['id']}" for room in data)  # pages past the end: []
            else:
                fresh = data["name"] == f"renamed {data['id']}"
            if not fresh:
                stale.append(path)
        assert stale == []
