"""Process-wide services and the per-request unit of work, as named dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from watchparty.config import Settings
from watchparty.core.budget import MemoryBudget
from watchparty.core.cache import Cache
from watchparty.core.db import Database
from watchparty.core.ratelimit import RateLimiter
from watchparty.core.redis import make_client
from watchparty.core.security import PasswordHasher, TokenCodec


@dataclass
class Services:
    """Everything a request may need that lives as long as the process."""

    settings: Settings
    db: Database
    hasher: PasswordHasher
    tokens: TokenCodec
    limiter: RateLimiter
    cache: Cache
    redis: aioredis.Redis | None
    decode_memory: MemoryBudget  # image decodes in this process, together (users/tasks.py)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        redis_url = settings.effective_redis_url
        cache_url = settings.effective_cache_redis_url
        cache = Cache(settings, make_client(cache_url, settings) if cache_url else None)
        return cls(
            settings=settings,
            db=Database(settings, cache),
            hasher=PasswordHasher(settings),
            tokens=TokenCodec(settings),
            limiter=RateLimiter(settings.effective_rate_limit_storage, settings.key_prefix),
            cache=cache,
            redis=make_client(redis_url, settings) if redis_url else None,
            decode_memory=MemoryBudget(settings.avatar_decode_memory_mb * 1024 * 1024),
        )

    async def start(self) -> None:
        await self.cache.start()

    async def close(self) -> None:
        await self.cache.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def services_of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


# Every dependency is `async def`: FastAPI runs a plain `def` dependency in a worker thread, and that hop cost
# more than the rest of a cached read (tests/unit/test_dependencies.py keeps it so).
async def get_services(conn: HTTPConnection) -> Services:
    return services_of(conn)


async def get_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    # Function scope: the commit happens before the response is sent.
    async with services_of(conn).db.session() as session:
        yield session


AppServices = Annotated[Services, Depends(get_services)]
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]
