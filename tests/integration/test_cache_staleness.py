"""A version bump that Redis refuses is never outlived by a served copy: Redis out of memory at the INCR, Redis
refusing writes but still reading (as a read-only replica does), a worker's bump replayed, a lost tag key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import make_settings, serving
from tests.integration.helpers import create_room, register
from tests.own_redis import OwnRedis
from watchparty.config import Settings
from watchparty.core.cache import Cache
from watchparty.core.redis import make_client

pytestmark = pytest.mark.slow

KEY = "wp-test:cache:room:1"
TAGS = ("room:1",)


def _settings(settings: Settings, tmp_path: Path, own_redis: OwnRedis, **extra: object) -> Settings:
    return make_settings(settings.database_url, tmp_path, **own_redis.urls(), **extra)


@asynccontextmanager
async def _cache(s: Settings) -> AsyncIterator[Cache]:
    url = s.effective_cache_redis_url
    assert url is not None
    cache = Cache(s, make_client(url, s))
    await cache.start()
    try:
        yield cache
    finally:
        await cache.close()


@asynccontextmanager
async def _admin(own_redis: OwnRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(port=own_redis.port, db=1)
    try:
        yield client
    finally:
        await client.aclose()


async def _fill(cache: Cache, body: bytes) -> None:
    found = await cache.lookup(KEY, TAGS)
    assert found.versions is not None
    await cache.store(KEY, found.versions, body, ttl=300)


async def test_out_of_memory_at_the_incr(settings: Settings, tmp_path: Path, own_redis: OwnRedis) -> None:
    # The reader re-checks Redis on every read, so what it serves right after the write shows what Redis holds.
    s = _settings(settings, tmp_path, own_redis, cache_l1_revalidate_ms=0)
    async with _cache(s) as writer, _cache(s) as reader, _admin(own_redis) as admin:
        await _fill(writer, b'{"v": "old"}')
        assert (await reader.lookup(KEY, TAGS)).body == b'{"v": "old"}'
        await admin.config_set("maxmemory", "1")  # every command that may grow memory is refused: INCR, SET
        try:
            with pytest.raises(aioredis.ResponseError, match="maxmemory"):
                await admin.incr("probe")
            await writer.invalidate(TAGS)  # the bump is refused
            for _ in range(20):
                found = await reader.lookup(KEY, TAGS)
                assert found.body is None and found.source == "BYPASS"  # from the database, not the old copy
        finally:
            await admin.config_set("maxmemory", "0")
        # Redis takes writes again: the tag starts at a new epoch, the writer's bump lands, and the cache works
        # again for both processes, without the old copy ever coming back.
        deadline = time.monotonic() + 10
        while (await writer.lookup(KEY, TAGS)).body != b'{"v": "new"}':
            assert time.monotonic() < deadline, "the cache did not come back"
            found = await reader.lookup(KEY, TAGS)
            assert found.body in (None, b'{"v": "new"}')
            if found.versions is not None:
                await reader.store(KEY, found.versions, b'{"v": "new"}', ttl=300)
            await asyncio.sleep(0.02)


async def test_writes_refused_reads_served(settings: Settings, tmp_path: Path, own_redis: OwnRedis) -> None:
    # As on a read-only replica after a failover: GET and PUBLISH work, INCR and DEL are refused.
    s = _settings(settings, tmp_path, own_redis)
    async with _cache(s) as writer, _cache(s) as reader, _admin(own_redis) as admin:
        await _fill(writer, b'{"v": "old"}')
        assert (await reader.lookup(KEY, TAGS)).body == b'{"v": "old"}'
        await admin.config_set("min-replicas-to-write", "1")
        try:
            with pytest.raises(aioredis.ResponseError, match="NOREPLICAS"):
                await admin.delete("probe")
            await writer.invalidate(TAGS)
            written = time.monotonic()
            deadline = written + 5
            while (await reader.lookup(KEY, TAGS)).body == b'{"v": "old"}':
                assert time.monotonic() < deadline, "the reader kept serving the copy from before the write"
                await asyncio.sleep(0.005)
            stopped_after = time.monotonic() - written
            for _ in range(20):  # and never again, in L1 or from Redis
                assert (await reader.lookup(KEY, TAGS)).body is None
                await asyncio.sleep(0.01)
            assert stopped_after < s.cache_l1_revalidate_ms / 1000  # the staleness bound
        finally:
            await admin.config_set("min-replicas-to-write", "0")
        # Redis takes writes again: the pending bump lands and both processes agree on it.
        deadline = time.monotonic() + 10
        while (found := await reader.lookup(KEY, TAGS)).versions is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert found.body is None
        assert dict(found.versions)["room:1"] >= writer.versions["room:1"]


async def test_a_workers_refused_bump_is_replayed(settings: Settings, tmp_path: Path, own_redis: OwnRedis) -> None:
    # A worker writes (an avatar job's result) and never reads the cache: nothing else would replay its bump.
    s = _settings(settings, tmp_path, own_redis)
    async with _cache(s) as worker, _admin(own_redis) as admin:
        await worker.invalidate(TAGS)
        before = int(await admin.get(worker.tag_key("room:1")) or 0)
        await admin.config_set("min-replicas-to-write", "1")
        try:
            await worker.invalidate(TAGS)
            assert int(await admin.get(worker.tag_key("room:1")) or 0) == before
        finally:
            await admin.config_set("min-replicas-to-write", "0")
        deadline = time.monotonic() + 5
        while int(await admin.get(worker.tag_key("room:1")) or 0) <= before:
            assert time.monotonic() < deadline, "the refused bump was never replayed"
            await asyncio.sleep(0.02)


async def test_a_lost_tag_key_never_revives_old_copies(settings: Settings, tmp_path: Path, own_redis: OwnRedis) -> None:
    # An evicted tag key, or one lost in a restart while its entries were kept elsewhere, must not start at the
    # version an old copy was stored under.
    s = _settings(settings, tmp_path, own_redis, cache_l1_revalidate_ms=0)
    async with _cache(s) as a, _cache(s) as b, _admin(own_redis) as admin:
        await _fill(a, b'{"v": "v-first"}')
        raw = await admin.get(KEY)
        await a.invalidate(TAGS)
        await admin.delete(a.tag_key("room:1"))
        assert raw is not None
        await admin.set(KEY, raw)  # the copy from before the write, as if its tag key alone had been lost
        b.versions.clear()
        assert (await b.lookup(KEY, TAGS)).body is None


@pytest.fixture
async def two_apps(
    own_redis: OwnRedis, settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    s = _settings(settings, tmp_path, own_redis)
    async with serving(s) as (a, _), serving(s) as (b, _):
        await asyncio.sleep(0.05)
        yield a, b


@pytest.mark.parametrize("fault", ["maxmemory", "min-replicas-to-write"])
async def test_two_processes_no_stale_read_past_the_bound(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], own_redis: OwnRedis, fault: str
) -> None:
    writer, reader = two_apps
    host = await register(writer, "host")
    room = await create_room(writer, host, name="v0")
    path = f"/api/rooms/{room['id']}"
    for _ in range(5):
        assert (await reader.get(path)).status_code == 200
    assert (await reader.get(path)).headers["x-cache"] == "HIT"
    stale = reads = errors = 0
    async with _admin(own_redis) as admin:
        await admin.config_set(fault, "1")
        try:
            for i in range(1, 11):
                r = await writer.put(path, json={"name": f"v{i}"}, headers=host.headers)
                assert r.status_code == 200
                written = time.monotonic()
                while time.monotonic() - written < 0.3:
                    started = time.monotonic()
                    got = await reader.get(path)
                    reads += 1
                    errors += got.status_code >= 500
                    if got.json()["data"]["name"] != f"v{i}" and started - written > 0.1:
                        stale += 1  # a read begun well after the write returned, still showing what came before
        finally:
            await admin.config_set(fault, "0")
    print(f"{fault}: {reads} reads during 10 refused bumps, {stale} stale, {errors} failed")  # docs/operations.md
    assert (stale, errors) == (0, 0), f"{stale} stale and {errors} failed of {reads} reads"
    deadline = time.monotonic() + 10
    while (got := await reader.get(path)).headers["x-cache"] != "HIT":
        assert got.json()["data"]["name"] == "v10"
        assert time.monotonic() < deadline, "the cache did not come back"
    assert got.json()["data"]["name"] == "v10"
