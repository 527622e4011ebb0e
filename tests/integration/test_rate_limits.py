"""Login and forgot-password are limited per account and per address, with 429 and Retry-After."""

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
