"""Shared fixtures. Integration tests run against a real database of their own:
PostgreSQL by default (a fresh database per run, dropped at the end), or SQLite with WATCHPARTY_TEST_DB=sqlite.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import watchparty.models  # noqa: F401
from tests.own_redis import OwnRedis
from tests.smtp import Mailbox, start_smtp
from watchparty.app import create_app
from watchparty.config import Settings
from watchparty.core.db import Base
from watchparty.core.deps import Services
from watchparty.core.migrate import upgrade_to_head

PG_ADMIN_DSN = os.environ.get("WATCHPARTY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("WATCHPARTY_TEST_DB", "postgres")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
# The shared Redis, with logical databases and a key prefix of the tests' own; every key is removed at the end.
TEST_REDIS = os.environ.get("WATCHPARTY_TEST_REDIS", "redis://127.0.0.1:6379")
TEST_PREFIX = f"wptest{RUN_ID}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Whatever ran, remove every Redis key this run wrote (the e2e servers' prefixes extend the run's)."""
    import redis

    for db in (12, 13):
        client = redis.Redis.from_url(f"{TEST_REDIS}/{db}")
        try:
            keys = list(client.scan_iter(match=f"{TEST_PREFIX}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        except redis.RedisError:
            pass  # no Redis: nothing was written
        finally:
            client.close()


def pytest_report_header() -> str:
    return f"watchparty test database backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL; this run uses SQLite")
    for item in items:
        if BACKEND == "sqlite" and "postgres_only" in item.keywords:
            item.add_marker(skip_pg)


def make_settings(database_url: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "jwt_secret": "test-secret-" + "x" * 60,
        # cheap argon2id in tests; production refuses these
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        "mail_outbox_dir": tmp / "outbox",
        "public_url": "http://watchparty.test",
        "log_level": "INFO",
        "rate_limit_login": "1000/minute",
        "rate_limit_login_account": "1000/minute",
        "rate_limit_login_ip": "1000/minute",
        "rate_limit_forgot": "1000/minute",
        "rate_limit_forgot_ip": "1000/minute",
        "rate_limit_invite": "1000/minute",
        "rate_limit_storage": "memory://",  # each test app counts alone (the Redis storage has its own test)
        "rate_limit_register_ip": "100000/minute",
        "rate_limit_room_password": "1000/minute",
        "rate_limit_room_password_room": "1000/minute",
        "redis_url": f"{TEST_REDIS}/12",
        "cache_redis_url": f"{TEST_REDIS}/13",
        "key_prefix": TEST_PREFIX,
        "cache_l1_revalidate_ms": 200,
        "media_dir": tmp / "media",
        # quick retries and a quick relay, so that job tests take milliseconds, not seconds
        "job_backoff_ms": 50,
        "relay_interval_ms": 100,
        "cleanup_cron": "",
        # the tests' media servers are on 127.0.0.1 (tests/media.py); the private-address test turns this off
        "media_check_allow_private": True,
    }
    values.update(overrides)
    return Settings.model_validate(values)


async def create_pg_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def flush_prefix(settings: Settings, *, with_servers: bool = False) -> None:
    """Delete every key under the prefix, in both logical databases; with_servers also takes the keys of the
    e2e servers, whose prefixes extend the run's ("-live", "-pair")."""
    for url in {settings.effective_redis_url, settings.effective_cache_redis_url}:
        if not url:
            continue
        client = aioredis.Redis.from_url(url)
        try:
            keys = [
                k
                async for k in client.scan_iter(
                    match=f"{settings.key_prefix}{'*' if with_servers else ':*'}", count=1000
                )
            ]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("watchparty")


@pytest.fixture(scope="session")
async def database_url(tmp_root: Path) -> AsyncIterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_root}/test.db"
        return
    name = f"watchparty_test_{RUN_ID}"
    url = await create_pg_database(name)
    try:
        yield url
    finally:
        await drop_pg_database(name)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    controller, mailbox = start_smtp()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_root: Path, smtp_server: Mailbox) -> Settings:
    # The session's app runs the whole job pipeline in-process, as embedded mode does: outbox, relay,
    # bullmq workers, and a real SMTP server.
    s = make_settings(database_url, tmp_root, **smtp_settings(smtp_server), worker_in_process=True)
    upgrade_to_head(s)  # the schema comes from the migrations, as in production
    return s


def smtp_settings(mailbox: Mailbox) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": mailbox.port}


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await flush_prefix(settings, with_servers=True)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    smtp_server.clear()
    return smtp_server


async def _fail_on_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, f"server error {response.status_code}: {await response.aread()!r}"


@pytest.fixture
async def client(app: FastAPI, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks={"response": [_fail_on_server_error]}
    ) as c:
        yield c
    await _wipe(services)


async def _wipe(services: Services) -> None:
    await services.limiter.reset()
    shutil.rmtree(services.settings.media_dir, ignore_errors=True)
    await flush_prefix(services.settings)
    services.cache.l1.clear()
    services.cache.versions.clear()
    # A job the test started may still be running in the session's worker; if its transaction and the wipe
    # deadlock, PostgreSQL cancels one of them, and the wipe tries again.
    for attempt in range(10):
        try:
            await _wipe_tables(services)
            return
        except DBAPIError as exc:
            if attempt == 9 or "deadlock" not in str(exc).lower():
                raise
            await asyncio.sleep(0.1)


async def _wipe_tables(services: Services) -> None:
    async with services.db.engine.begin() as conn:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if conn.dialect.name == "postgresql":
            # TRUNCATE costs per table, written or not: only the tables a test wrote (found in one statement), and
            # their sequences restart. A table with rows written and deleted keeps its sequence where it was.
            probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
            written = [row[0] for row in await conn.execute(text(probe))]
            if written:
                quoted = ", ".join(f'"{t}"' for t in written)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                await conn.execute(text(f'DELETE FROM "{t}"'))


@asynccontextmanager
async def serving(s: Settings, **transport: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """An app of its own on `s`, started (lifespan) and stopped around an HTTP client of it; and its services."""
    app = create_app(s)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app, **transport), base_url="http://t") as c,
    ):
        yield c, app.state.services


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.thaw()
        server.kill()


@asynccontextmanager
async def fresh_database(tmp: Path) -> AsyncIterator[str]:
    """A migrated database of its own, for processes whose relays must not see the shared one's jobs."""
    if BACKEND == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/own-{uuid.uuid4().hex[:6]}.db"
        await asyncio.to_thread(upgrade_to_head, make_settings(url, tmp))  # alembic runs its own event loop
        yield url
        return
    name = f"watchparty_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    url = await create_pg_database(name)
    try:
        await asyncio.to_thread(upgrade_to_head, make_settings(url, tmp))
        yield url
    finally:
        await drop_pg_database(name)


@pytest.fixture
async def own_database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(autouse=True, scope="session")
def _server_frames_are_checked() -> Iterator[None]:
    """Every server frame that a `watchparty.client` viewer in the tests receives is checked against its
    definition in watchparty.sync.protocol (the raw-socket tests check theirs in tests/e2e/live.py). The client
    library itself stays free of the server's code."""
    import orjson

    from watchparty.client.viewer import Viewer
    from watchparty.sync.protocol import validate_server

    handle = Viewer.handle

    def checked(self: Viewer, msg: dict[str, Any], arrived_ms: float | None = None) -> None:
        validate_server(orjson.dumps(msg))
        handle(self, msg, arrived_ms)

    Viewer.handle = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        Viewer.handle = handle  # type: ignore[method-assign]
