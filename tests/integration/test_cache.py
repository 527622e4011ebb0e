"""The response cache against real Redis: hits, misses, TTLs, invalidation across processes, leaks, junk, stampede."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import make_settings
from tests.integration.helpers import Account, create_movie, create_room, join, register
from watchparty.app import create_app
from watchparty.config import Settings
from watchparty.core.deps import Services
from watchparty.models import UserRole
from watchparty.users import service as users_service

VOLATILE_HEADERS = {"x-cache", "content-length", "x-request-id"}


@asynccontextmanager
async def another_process(settings: Settings, tmp: Path, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second API 'process': its own app, L1, engine and invalidation listener, on the same DB and Redis."""
    app = create_app(make_settings(settings.database_url, tmp, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            await asyncio.sleep(0.05)  # let its invalidation listener subscribe
            yield c


def count_queries(services: Services, needle: str) -> Callable[[], int]:
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if needle in statement:
            seen.append(statement)

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", on_execute)
    read = services.db.read_engine.sync_engine
    if read.pool is not services.db.engine.sync_engine.pool:  # PostgreSQL: the hot reads have their own pool
        event.listen(read, "before_cursor_execute", on_execute)
    counter = lambda: len(seen)  # noqa: E731
    counter.seen = seen  # type: ignore[attr-defined]
    return counter


def _stable_headers(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k not in VOLATILE_HEADERS}


async def _world(client: httpx.AsyncClient) -> tuple[Account, dict[str, Any], dict[str, Any]]:
    host = await register(client, "host")
    movie = await create_movie(client, host)
    room = await create_room(client, host, movieId=movie["id"])
    await client.post(f"/api/chat/{room['id']}/messages", json={"content": "hello"}, headers=host.headers)
    # waiting for the movie's media check read it (and cached it): an edit makes every test start cold
    await client.put(f"/api/movies/{movie['id']}", json={"title": movie["title"]}, headers=host.headers)
    return host, movie, room


async def test_hit_and_miss_on_all_six_endpoints_differ_only_in_cached_marker(client: httpx.AsyncClient) -> None:
    host, movie, room = await _world(client)
    paths = [
        ("/api/rooms", {}),
        (f"/api/rooms/{room['id']}", {}),
        ("/api/movies", {}),
        (f"/api/movies/{movie['id']}", {}),
        (f"/api/chat/{room['id']}/messages", {}),
        ("/api/auth/profile", host.headers),
    ]
    for path, headers in paths:
        miss = await client.get(path, headers={**headers, "Origin": "http://x"})
        hit = await client.get(path, headers={**headers, "Origin": "http://x"})
        assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT"), path
        assert "_cached" not in miss.json()
        hit_body = hit.json()
        assert hit_body.pop("_cached") is True
        assert hit_body == miss.json(), path
        assert _stable_headers(hit) == _stable_headers(miss), path
        assert hit.headers["x-request-id"] != miss.headers["x-request-id"]


async def test_writes_invalidate_what_they_change(client: httpx.AsyncClient) -> None:
    host, movie, room = await _world(client)
    guest = await register(client, "guest")
    rid, mid = room["id"], movie["id"]

    async def warm(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        await client.get(path, headers=headers)
        r = await client.get(path, headers=headers)
        assert r.headers["x-cache"] == "HIT", path
        return dict(r.json())

    async def fresh(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = await client.get(path, headers=headers)
        assert r.headers["x-cache"] == "MISS", path
        return dict(r.json())

    await warm("/api/rooms")
    await warm(f"/api/rooms/{rid}")
    await join(client, guest, rid)
    assert (await fresh("/api/rooms"))["data"][0]["participantCount"] == 2
    assert (await fresh(f"/api/rooms/{rid}"))["data"]["participantCount"] == 2

    await warm(f"/api/chat/{rid}/messages")
    await client.post(f"/api/chat/{rid}/messages", json={"content": "second"}, headers=guest.headers)
    assert [m["content"] for m in (await fresh(f"/api/chat/{rid}/messages"))["data"]] == ["hello", "second"]

    await warm("/api/movies")
    await warm(f"/api/movies/{mid}")
    await warm(f"/api/rooms/{rid}")
    await client.put(f"/api/movies/{mid}", json={"title": "Renamed"}, headers=host.headers)
    assert (await fresh("/api/movies"))["data"][0]["title"] == "Renamed"
    assert (await fresh(f"/api/movies/{mid}"))["data"]["title"] == "Renamed"
    assert (await fresh(f"/api/rooms/{rid}"))["data"]["movie"]["title"] == "Renamed"  # via the catalog tag

    await warm("/api/auth/profile", host.headers)
    await warm("/api/rooms")
    await warm(f"/api/chat/{rid}/messages")
    await client.put("/api/auth/profile", json={"username": "hostess"}, headers=host.headers)
    assert (await fresh("/api/auth/profile", host.headers))["data"]["username"] == "hostess"
    assert (await fresh("/api/rooms"))["data"][0]["host"]["username"] == "hostess"
    assert (await fresh(f"/api/chat/{rid}/messages"))["data"][0]["user"]["username"] == "hostess"

    await warm(f"/api/rooms/{rid}")
    await client.put(f"/api/rooms/{rid}", json={"name": "New name"}, headers=host.headers)
    assert (await fresh(f"/api/rooms/{rid}"))["data"]["name"] == "New name"
    await warm("/api/rooms")
    await client.post(f"/api/rooms/{rid}/leave", headers=guest.headers)
    assert (await fresh("/api/rooms"))["data"][0]["participantCount"] == 1

    await warm(f"/api/rooms/{rid}")
    await client.delete(f"/api/rooms/{rid}", headers=host.headers)
    assert (await client.get(f"/api/rooms/{rid}")).status_code == 404
    assert (await client.get(f"/api/chat/{rid}/messages")).status_code == 404
    assert (await fresh("/api/rooms"))["data"] == []


async def test_a_write_on_one_process_is_seen_by_another_within_the_bound(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    host, _, room = await _world(client)
    bound = settings.cache_l1_revalidate_ms / 1000
    async with another_process(settings, tmp_path) as other:
        for i in range(10):
            await other.get("/api/rooms")  # B holds the list in its L1
            await other.get(f"/api/rooms/{room['id']}")
            name = f"name {i}"
            r = await client.put(f"/api/rooms/{room['id']}", json={"name": name}, headers=host.headers)
            assert r.status_code == 200
            await asyncio.sleep(bound)
            assert (await other.get("/api/rooms")).json()["data"][0]["name"] == name
            assert (await other.get(f"/api/rooms/{room['id']}")).json()["data"]["name"] == name


async def test_invalidations_reach_other_processes_through_pubsub(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    # With L1 re-validation effectively off, only the published invalidation can make B drop its copy.
    host, _, room = await _world(client)
    async with another_process(settings, tmp_path, cache_l1_revalidate_ms=60_000) as other:
        await other.get("/api/rooms")
        assert (await other.get("/api/rooms")).headers["x-cache"] == "HIT"
        await client.put(f"/api/rooms/{room['id']}", json={"name": "via pubsub"}, headers=host.headers)
        deadline = time.monotonic() + 5
        while (await other.get("/api/rooms")).json()["data"][0]["name"] != "via pubsub":
            assert time.monotonic() < deadline, "the invalidation never arrived"
            await asyncio.sleep(0.01)


async def test_ttl_expiry(client: httpx.AsyncClient, settings: Settings, tmp_path: Path) -> None:
    await _world(client)
    short = {f"cache_ttl_{n}": 1 for n in ("rooms", "room", "movies", "movie", "chat", "profile")}
    async with another_process(settings, tmp_path, **short) as other:
        assert (await other.get("/api/movies")).headers["x-cache"] == "MISS"
        assert (await other.get("/api/movies")).headers["x-cache"] == "HIT"
        await asyncio.sleep(1.2)
        assert (await other.get("/api/movies")).headers["x-cache"] == "MISS"


async def test_no_leaks_between_users_or_into_private_rooms(client: httpx.AsyncClient) -> None:
    a = await register(client, "alice")
    b = await register(client, "bob")
    private = await create_room(client, a, name="A's secret", visibility="private", password="pw-pw-pw")
    await client.post(f"/api/chat/{private['id']}/messages", json={"content": "for members"}, headers=a.headers)
    leaks = 0
    for i in range(1000):
        who = a if i % 2 == 0 else b
        r = await client.get("/api/auth/profile", headers=who.headers)
        leaks += r.json()["data"]["username"] != who.username
        if i % 10 == 0:
            room = await client.get(f"/api/rooms/{private['id']}", headers=who.headers)
            chat = await client.get(f"/api/chat/{private['id']}/messages", headers=who.headers)
            expected = 200 if who is a else 404
            leaks += room.status_code != expected or chat.status_code != expected
    assert leaks == 0


async def test_junk_query_parameters_add_no_keys(client: httpx.AsyncClient, settings: Settings) -> None:
    await _world(client)
    redis = aioredis.Redis.from_url(settings.effective_cache_redis_url or "")

    async def entry_keys() -> set[bytes]:
        return {k async for k in redis.scan_iter(match=f"{settings.key_prefix}:cache:rooms:*") if b":lock" not in k}

    try:
        await client.get("/api/rooms")
        before = await entry_keys()
        for i in range(50):
            r = await client.get("/api/rooms", params={"junk": str(i), f"x{i}": "y", "utm_source": "z"})
            assert r.headers["x-cache"] == "HIT"
        for params in ({"page": "1", "limit": "10"}, {"limit": "10"}):
            assert (await client.get("/api/rooms", params=params)).headers["x-cache"] == "HIT"
        for params in ({"page": "99"}, {"page": "01x"}, {"q": "x"}, {"page": "1&page=2"}):
            await client.get("/api/rooms", params=params)  # not cached: deep pages, bad values, searches
        assert await entry_keys() == before
    finally:
        await redis.aclose()


async def test_stampede_causes_at_most_two_queries(
    client: httpx.AsyncClient, services: Services, settings: Settings, tmp_path: Path
) -> None:
    await _world(client)
    needle = "FROM room JOIN"
    app_b = create_app(make_settings(settings.database_url, tmp_path))
    async with app_b.router.lifespan_context(app_b):
        transport = httpx.ASGITransport(app=app_b)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            queries_a = count_queries(services, needle)
            queries_b = count_queries(app_b.state.services, needle)
            responses = await asyncio.gather(
                *[(client if i % 2 else other).get("/api/rooms", params={"limit": 7}) for i in range(100)]
            )
    assert all(r.status_code == 200 for r in responses)
    assert len({r.json()["data"][0]["id"] for r in responses}) == 1
    assert 1 <= queries_a() + queries_b() <= 2


async def test_a_corrupt_entry_counts_as_a_miss(client: httpx.AsyncClient, settings: Settings) -> None:
    await _world(client)
    await client.get("/api/movies")
    redis = aioredis.Redis.from_url(settings.effective_cache_redis_url or "")
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.key_prefix}:cache:movies:*")]
        assert keys
        for key in keys:
            await redis.set(key, b'{"v":{"movies":0}}\n{"success":tru')
    finally:
        await redis.aclose()
    app_state: FastAPI = client._transport.app  # type: ignore[attr-defined]
    app_state.state.services.cache.l1.clear()
    r = await client.get("/api/movies")
    assert (r.status_code, r.headers["x-cache"]) == (200, "MISS")
    assert r.json()["data"][0]["title"] == "Big Buck Bunny"


async def test_cache_stats_are_for_admins(client: httpx.AsyncClient, services: Services) -> None:
    user = await register(client, "plain")
    admin = await register(client, "boss")
    async with services.db.session() as session:
        await users_service.set_role(session, admin.id, UserRole.ADMIN)
    await client.get("/api/movies")
    await client.get("/api/movies")
    assert (await client.get("/api/cache/stats", headers=user.headers)).status_code == 403
    assert (await client.get("/api/cache/stats")).status_code == 401
    stats = (await client.get("/api/cache/stats", headers=admin.headers)).json()["data"]
    assert stats["routes"]["movies"]["HIT"] >= 1
    assert stats["routes"]["movies"]["MISS"] >= 1
    assert stats["breaker"] == "closed"


@pytest.mark.parametrize("header", ["Bearer junk", "Bearer ", "Basic abc"])
async def test_odd_authorization_headers_get_the_applications_answer(client: httpx.AsyncClient, header: str) -> None:
    _, _, room = await _world(client)
    path = f"/api/rooms/{room['id']}"
    await client.get(path)
    assert (await client.get(path)).headers["x-cache"] == "HIT"
    r = await client.get(path, headers={"Authorization": header})
    assert r.status_code == (401 if header == "Bearer junk" else 200)  # an empty or non-bearer scheme is anonymous


async def test_a_room_made_private_stops_being_served_from_the_public_entry(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    host, _, room = await _world(client)
    paths = [f"/api/rooms/{room['id']}", f"/api/chat/{room['id']}/messages"]
    async with another_process(settings, tmp_path) as other:
        for path in paths:
            await client.get(path)
            await other.get(path)
            assert (await other.get(path)).headers["x-cache"] == "HIT"
        r = await client.put(f"/api/rooms/{room['id']}", json={"visibility": "private"}, headers=host.headers)
        assert r.status_code == 200
        for path in paths:
            assert (await client.get(path)).status_code == 404
        await asyncio.sleep(settings.cache_l1_revalidate_ms / 1000)
        for path in paths:
            assert (await other.get(path)).status_code == 404
            assert (await other.get(path, headers=host.headers)).status_code == 200  # members still read it


async def test_counters_of_every_process_are_added_up_and_exported(
    client: httpx.AsyncClient, services: Services, settings: Settings, tmp_path: Path
) -> None:
    admin = await register(client, "boss")
    async with services.db.session() as session:
        await users_service.set_role(session, admin.id, UserRole.ADMIN)
    token = "metrics-" + "m" * 32
    app_b = create_app(make_settings(settings.database_url, tmp_path, metrics_token=token))
    async with app_b.router.lifespan_context(app_b):
        transport = httpx.ASGITransport(app=app_b)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            zero = {"HIT": 0, "MISS": 0, "ERROR": 0, "BYPASS": 0}

            async def counters() -> tuple[dict[str, int], dict[str, int]]:
                stats = (await client.get("/api/cache/stats", headers=admin.headers)).json()["data"]
                return stats["routes"].get("movies", zero), (stats["allProcesses"] or {}).get("movies", zero)

            await services.cache.flush_stats()  # this (test-wide) process's earlier counts are in the totals now
            local_before, all_before = await counters()
            for _ in range(3):
                await client.get("/api/movies")
            for _ in range(5):
                await other.get("/api/movies")
            await asyncio.gather(*(c.flush_stats() for c in (services.cache, app_b.services.cache) * 2))  # type: ignore[union-attr]
            local, everyone = await counters()
            assert {k: local[k] - local_before[k] for k in zero} == {"HIT": 2, "MISS": 1, "ERROR": 0, "BYPASS": 0}
            assert {k: everyone[k] - all_before[k] for k in zero} == {"HIT": 7, "MISS": 1, "ERROR": 0, "BYPASS": 0}

            assert (await other.get("/api/metrics")).status_code == 401
            assert (await other.get("/api/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
            r = await other.get("/api/metrics", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            assert f'watchparty_cache_requests_total{{outcome="hit",route="movies"}} {everyone["HIT"]}.0' in r.text
            assert f'watchparty_cache_requests_total{{outcome="miss",route="movies"}} {everyone["MISS"]}.0' in r.text
            assert "watchparty_cache_stats_readable 1.0" in r.text
    assert (await client.get("/api/metrics", headers={"Authorization": f"Bearer {token}"})).status_code == 404
