"""Migrations upgrade an empty database on both backends, and the models match them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database, make_settings
from watchparty.core.db import Base
from watchparty.core.migrate import alembic_config, upgrade_to_head


def _diff(connection: Connection) -> list[object]:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    # expression-based indexes cannot be reflected on SQLite; alembic warns and skips them
    return [d for d in compare_metadata(ctx, Base.metadata) if "ix_room_public_last_activity" not in str(d)]


def _check(url: str, tmp_path: Path) -> None:
    # Alembic's env runs its own event loop, so these tests are synchronous.
    settings = make_settings(url, tmp_path)
    upgrade_to_head(settings)
    upgrade_to_head(settings)  # idempotent
    asyncio.run(_inspect(url))
    command.downgrade(alembic_config(settings), "base")


async def _inspect(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {
            "user",
            "room",
            "room_member",
            "movie",
            "message",
            "invite",
            "refresh_token",
            "password_reset_token",
        } <= tables
        indexes = await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("room")})
        assert "ix_room_public_last_activity" in indexes
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


def test_sqlite_upgrade_from_empty(tmp_path: Path) -> None:
    _check(f"sqlite+aiosqlite:///{tmp_path}/m.db", tmp_path)


@pytest.mark.postgres_only
def test_postgres_upgrade_from_empty(tmp_path: Path) -> None:
    name = f"watchparty_mig_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(create_pg_database(name))
    try:
        _check(url, tmp_path)
    finally:
        asyncio.run(drop_pg_database(name))


def test_admin_dsn_is_local() -> None:
    assert "127.0.0.1" in PG_ADMIN_DSN or "localhost" in PG_ADMIN_DSN
