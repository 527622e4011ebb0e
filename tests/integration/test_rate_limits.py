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
