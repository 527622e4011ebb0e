"""Redis clients with short timeouts, so that a slow or dead Redis slows requests down by milliseconds only; and
the breaker that makes a client with a longer timeout fail fast once Redis has stopped answering."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchparty.config import Settings


class Breaker:
    """Opens after consecutive failures; while open, callers skip Redis; a trial call is let through after a pause."""

    def __init__(self, failures: int, open_seconds: float) -> None:
        self.threshold = failures
        self.open_seconds = open_seconds
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def allows(self) -> bool:
        if self.opened_at is None:
            return True
        return time.monotonic() - self.opened_at >= self.open_seconds  # half-open: one trial

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def success(self) -> bool:
        """Record a success; True when this closed an open breaker."""
        recovered = self.opened_at is not None
        self.failures = 0
        self.opened_at = None
        return recovered

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class RedisUnavailable(RedisConnectionError):
    """Refused at once: Redis did not answer a moment ago (the client's breaker is open)."""


_TRANSPORT_ERRORS = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


class _GuardedPool(aioredis.BlockingConnectionPool):
    """A pool whose connections report to a breaker: a command that times out or loses its connection opens it,
    and while it is open every command fails at once with RedisUnavailable instead of waiting out its timeout."""

    breaker: Breaker

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.allows:
            raise RedisUnavailable("Redis did not answer a moment ago")
        try:
            connection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except _TRANSPORT_ERRORS:
            self.breaker.failure()
            raise
        connection.breaker = self.breaker
        return connection


class _GuardedConnection(aioredis.Connection):
    breaker: Breaker | None = None

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().read_response(*args, **kwargs)
        except _TRANSPORT_ERRORS:
            if self.breaker is not None:
                self.breaker.failure()
            raise
        # a read with a timeout of its own (pub/sub's get_message) returns None when nothing came: not an answer
        if self.breaker is not None and (response is not None or kwargs.get("timeout") is None):
            self.breaker.success()
        return response


def make_client(
    url: str, settings: Settings, *, timeout_ms: int | None = None, breaker: Breaker | None = None
) -> aioredis.Redis:
    """A client whose every call, connection wait included, takes at most `timeout_ms` (REDIS_TIMEOUT_MS). With a
    `breaker`, a client whose timeout is long (the realtime hub's seconds of patience) waits it out once, not on
    every call: after a timeout, calls fail at once for the breaker's pause."""
    timeout = (timeout_ms or settings.redis_timeout_ms) / 1000
    options: dict[str, Any] = {
        "max_connections": settings.redis_pool_size,
        "timeout": timeout,  # waiting for a free connection counts against the same budget
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "protocol": 2,
        "health_check_interval": 0,
    }
    if breaker is None:
        pool = aioredis.BlockingConnectionPool.from_url(url, **options)
    else:
        pool = _GuardedPool.from_url(url, connection_class=_GuardedConnection, **options)
        pool.breaker = breaker
    return aioredis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))


async def ping(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # health reports failures; it never raises them
        return False
