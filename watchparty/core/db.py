"""Engine, sessions, the declarative base, and side effects that run after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, RowMapping, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from watchparty.config import Settings
from watchparty.core.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

if TYPE_CHECKING:
    from watchparty.core.cache import Cache
    from watchparty.core.realtime import LiveRooms

AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "after_commit"
_HOOKS = "hooks"


@dataclass
class SessionHooks:
    """The process-wide services that a unit of work's after-commit effects reach (one typed object instead of
    string keys in `session.info`): the response cache (`core.cache.invalidate`), the live rooms
    (`core.realtime.live_change`, `room_event`, `end_live_sessions`) and the job relay's wake-up
    (`jobs.outbox.enqueue`). Each is None where this process has none."""

    cache: Cache | None = None
    live: LiveRooms | None = None
    wake_relay: Callable[[], None] | None = None
    # per unit of work: the cache tags to invalidate after commit (core.cache.invalidate)
    pending_tags: set[str] | None = field(default=None)

    def for_session(self) -> SessionHooks:
        return SessionHooks(self.cache, self.live, self.wake_relay)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """One engine and session factory per process."""

    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self.engine: AsyncEngine = make_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine: AsyncEngine = make_read_engine(settings, self.engine)
        # handed to every unit of work (a copy per session): the cache, the live rooms, the relay's wake-up
        self.hooks = SessionHooks(cache=cache)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a hot read made of one statement (ADR 0012): autocommit, so the statement is one round
        trip, with no BEGIN and no COMMIT; Core rows, no ORM objects, no unit of work. Nothing is written here."""
        async with self.read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, then run the after-commit effects."""
        async with self.sessionmaker() as session:
            session.info[_HOOKS] = self.hooks.for_session()
            try:
                yield session
                await session.commit()
            except AppError as exc:
                if exc.keep_changes:
                    await session.commit()
                    await run_after_commit(session)
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            await run_after_commit(session)


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.database_echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it cost about 1 ms a request. A connection that died is seen on use, SQLAlchemy then
    # invalidates the pool, and that one request answers 503 with Retry-After.
    # A fixed pool: requests beyond it wait for a connection (up to 10 s, then 503). With overflow, a busy process
    # opened and closed a connection per request above the pool size: a PostgreSQL backend forked each time, and
    # uncached reads ran at a third of their speed.
    kwargs.update(pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=10, pool_recycle=1800)
    return create_async_engine(url, **kwargs)


def make_read_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """The engine of Database.read(): autocommit, and on PostgreSQL a pool of its own whose connections keep generic
    plans for prepared statements (ADR 0012). A hot read runs the same statement with new values thousands of
    times a second; with custom plans PostgreSQL planned it every time (0.46 ms for the room list, more than running
    it). The statements read here are written for their indexes, so the generic plan is the plan they want."""
    if engine.dialect.name != "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_async_engine(
        settings.database_url,
        echo=settings.database_echo,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.database_read_pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_recycle=1800,
        connect_args={"server_settings": {"plan_cache_mode": "force_generic_plan"}},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def hooks_of(session: AsyncSession) -> SessionHooks:
    """The unit of work's hooks (empty ones for a session that Database.session() did not open)."""
    hooks: SessionHooks | None = session.info.get(_HOOKS)
    if hooks is None:
        hooks = session.info[_HOOKS] = SessionHooks()
    return hooks


def after_commit(session: AsyncSession, effect: AfterCommit) -> None:
    """Register a side effect (email, cache invalidation, pub/sub) to run once the data is durable."""
    session.info.setdefault(_AFTER_COMMIT, []).append(effect)


async def run_after_commit(session: AsyncSession) -> None:
    effects: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    for effect in effects:
        await effect()


async def page_and_total(
    conn: AsyncConnection, page: Any, total: Any, params: dict[str, Any]
) -> tuple[Sequence[RowMapping], int]:
    """A page whose rows carry the total (a `total` scalar subquery), and the total: one round trip, two past the
    last page, where there is no row to carry it (ADR 0012)."""
    rows = (await conn.execute(page, params)).mappings().all()
    if rows:
        return rows, int(rows[0]["total"])
    return rows, int(await conn.scalar(total, params) or 0)


def like_pattern(text: str) -> str:
    """`text` as a case-insensitive substring pattern for LIKE ... ESCAPE '/'."""
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"
