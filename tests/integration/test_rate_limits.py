"""Login and forgot-password are limited per account and per address; registration per address; room-password
guesses per room and address and per room (issue 19, item 6); each with 429 and Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from watchparty.app import create_app
from watchparty.config import Settings


@pytest.fixture
async def limited(settings: Settings, tmp_path: Path, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    # The same database, tight limits. `client` is requested so that its teardown wipes the tables.
    tight = make_settings(
        settings.database_url,
        tmp_path,
        rate_limit_login="3/minute",
        rate_limit_login_ip="5/minute",
        rate_limit_forgot="2/hour",
        rate_limit_forgot_ip="4/hour",
        rate_limit_register_ip="3/hour",
        rate_limit_room_password="3/minute",
        rate_limit_room_password_room="5/minute",
        redis_url=None,  # no relay of its own: its jobs stay in the outbox, and never hold SQLite's lock at teardown
    )
    app = create_app(tight)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_login_is_limited_per_account(limited: httpx.AsyncClient) -> None:
    statuses = []
    for _ in range(4):
        r = await limited.post("/api/auth/login", json={"email": "victim@example.com", "password": "guess-guess"})
        statuses.append(r.status_code)
    assert statuses == [401, 401, 401, 429]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.json()["error"]["message"] == f"Too many requests. Try again in {r.headers['Retry-After']} s."


async def test_login_is_limited_per_address_across_accounts(limited: httpx.AsyncClient) -> None:
    statuses = []
    for i in range(6):
        r = await limited.post("/api/auth/login", json={"email": f"user{i}@example.com", "password": "guess-guess"})
        statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429]


async def test_forgot_password_is_limited(limited: httpx.AsyncClient) -> None:
    codes = [
        (await limited.post("/api/auth/forgot-password", json={"email": "v@example.com"})).status_code for _ in range(3)
    ]
    assert codes == [202, 202, 429]
    r = await limited.post("/api/auth/forgot-password", json={"email": "w@example.com"})
    assert r.status_code == 202  # per-address budget: 4 an hour, this is the fourth
    r = await limited.post("/api/auth/forgot-password", json={"email": "z@example.com"})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 60


async def test_counters_in_redis_are_shared_by_processes_and_kept_apart_by_key_prefix(settings: Settings) -> None:
    """Issue 13 (why 10): the limiter's Redis keys carry KEY_PREFIX, so two deployments (or test runs) on one Redis
    do not share counters, while two processes of one deployment do. Redis storage runs on redis-py."""
    from watchparty.core.errors import RateLimited
    from watchparty.core.ratelimit import RateLimiter

    url = settings.effective_redis_url
    assert url is not None
    one, two = RateLimiter(url, f"{settings.key_prefix}-rl-a"), RateLimiter(url, f"{settings.key_prefix}-rl-a")
    other = RateLimiter(url, f"{settings.key_prefix}-rl-b")
    try:
        await one.hit("2/minute", "login", "ann")
        await two.hit("2/minute", "login", "ann")  # the second process counts the same window
        with pytest.raises(RateLimited):
            await one.hit("2/minute", "login", "ann")
        await other.hit("2/minute", "login", "ann")  # another prefix: its own counters
    finally:
        for limiter in (one, other):
            await limiter.reset()


def _from(c: httpx.AsyncClient, ip: str) -> httpx.AsyncClient:
    """Another client of the same app, calling from address `ip`."""
    app = c._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://test")


async def _account(c: httpx.AsyncClient, name: str) -> dict[str, str]:
    body = {"email": f"{name}@example.com", "username": name, "password": "a long password"}
    r = await c.post("/api/auth/register", json=body)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['data']['token']}"}


async def test_registration_is_limited_per_address(limited: httpx.AsyncClient) -> None:
    codes = []
    for i in range(4):
        body = {"email": f"new{i}@example.com", "username": f"new_{i}", "password": "a long password"}
        codes.append((r := await limited.post("/api/auth/register", json=body)).status_code)
    assert codes == [201, 201, 201, 429], "each account costs an argon2 hash: 3 an hour from one address here"
    assert int(r.headers["Retry-After"]) > 60 and r.json()["error"]["code"] == "rate_limited"
    async with _from(limited, "10.0.0.9") as elsewhere:  # another address has its own budget
        assert (await _account(elsewhere, "new_elsewhere"))["Authorization"]


async def test_room_password_guesses_are_limited_per_address_and_per_room(limited: httpx.AsyncClient) -> None:
    host = await _account(limited, "pw_host")
    r = await limited.post("/api/rooms", json={"name": "Locked", "password": "open sesame"}, headers=host)
    room_id = r.json()["data"]["id"]

    async def guess(c: httpx.AsyncClient, who: dict[str, str], password: str) -> int:
        r = await c.post(f"/api/rooms/{room_id}/join", json={"password": password}, headers=who)
        return r.status_code

    async with _from(limited, "10.0.0.1") as a, _from(limited, "10.0.0.2") as b, _from(limited, "10.0.0.3") as c:
        ann, bob, cat = await _account(a, "pw_ann"), await _account(b, "pw_bob"), await _account(c, "pw_cat")
        # one address: 3 guesses a minute, then 429 before any argon2 work, even with the right password
        assert [await guess(a, ann, f"guess {n}") for n in range(3)] == [403, 403, 403]
        assert await guess(a, ann, "open sesame") == 429
        # the room as a whole: 5 a minute from everyone (3 from a, then 2 more from b)
        assert [await guess(b, bob, "nope"), await guess(b, bob, "open sesame")] == [403, 200]
        r = await c.post(f"/api/rooms/{room_id}/join", json={"password": "still guessing"}, headers=cat)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        # a public room without a password is never counted
        r = await limited.post("/api/rooms", json={"name": "Open"}, headers=host)
        open_id = r.json()["data"]["id"]
        for _ in range(6):
            assert (await c.post(f"/api/rooms/{open_id}/join", json={}, headers=cat)).status_code == 200


async def test_a_guesser_elsewhere_does_not_lock_the_owner_out(limited: httpx.AsyncClient) -> None:
    """Per account and address (3 a minute here): the owner, from their own address, still signs in while someone
    elsewhere has used up their guesses at the same account."""
    owner = await _account(limited, "owner_ok")
    del owner
    async with _from(limited, "10.6.6.6") as attacker:
        codes = [(await attacker.post("/api/auth/login", json={"email": "owner_ok@example.com",
                                                                "password": f"guess {n}"})).status_code
                 for n in range(4)]  # fmt: skip
    assert codes == [401, 401, 401, 429]
    r = await limited.post("/api/auth/login", json={"email": "owner_ok@example.com", "password": "a long password"})
    assert r.status_code == 200, r.text


async def test_behind_a_trusted_proxy_limits_count_the_forwarded_client_not_the_proxy(
    settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """Issue 16: with FORWARDED_ALLOW_IPS, X-Forwarded-For from a trusted proxy names the client, so one client's
    limit is not everyone's; from anyone else the header is ignored (it could be forged)."""
    proxied = make_settings(settings.database_url, tmp_path, rate_limit_guest_ip="2/hour",
                            forwarded_allow_ips="10.0.0.1, 10.1.0.0/16")  # fmt: skip
    app = create_app(proxied)

    def via(peer: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    async def guest(c: httpx.AsyncClient, forwarded: str) -> int:
        r = await c.post("/api/auth/guest", json={"displayName": "Gus"}, headers={"X-Forwarded-For": forwarded})
        return r.status_code

    async with (
        app.router.lifespan_context(app),
        via("10.0.0.1") as proxy,
        via("10.1.2.3") as other_proxy,
        via("192.0.2.50") as stranger,
    ):
        assert [await guest(proxy, "203.0.113.7") for _ in range(3)] == [201, 201, 429]
        assert await guest(proxy, "203.0.113.8") == 201, "another client behind the same proxy"
        assert await guest(other_proxy, "203.0.113.8, 10.0.0.1") == 201  # through two trusted proxies
        assert await guest(other_proxy, "203.0.113.8") == 429, "the same client, counted as itself"
        # an untrusted peer's header is not believed: it is counted as itself, whatever it claims
        assert [await guest(stranger, f"198.51.100.{n}") for n in range(3)] == [201, 201, 429]
