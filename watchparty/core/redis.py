"""Redis clients with short timeouts, so that a slow or dead Redis slows requests down by milliseconds only."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from watchparty.config import Settings


def make_client(url: str, settings: Settings, *, timeout_ms: int | None = None) -> aioredis.Redis:
    timeout = (timeout_ms or settings.redis_timeout_ms) / 1000
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_pool_size,
        timeout=timeout,  # waiting for a free connection counts against the same budget
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        protocol=2,
        health_check_interval=0,
    )
    return aioredis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))


async def ping(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # health reports failures; it never raises them
        return False
