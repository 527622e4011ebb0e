"""Rate limits on sensitive endpoints, per account and per client address, with the `limits` library."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from watchparty.core.errors import RateLimited


class RateLimiter:
    def __init__(self, storage_uri: str, prefix: str = "wp") -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        options: dict[str, str] = {}
        if not uri.startswith("async+memory"):
            options["key_prefix"] = f"{prefix}:rl"  # KEY_PREFIX: deployments and test runs on one Redis stay apart
        if uri.startswith(("async+redis", "async+rediss")):
            options["implementation"] = "redispy"  # redis-py, which the project has; the default needs coredis
        storage = storage_from_string(uri, **options)
        assert isinstance(storage, Storage)
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, rule: str, scope: str, identity: str) -> None:
        """Count one attempt; raise RateLimited (429 with Retry-After) when over the rule."""
        item: RateLimitItem = parse(rule)
        if await self._limiter.hit(item, scope, identity):
            return
        stats = await self._limiter.get_window_stats(item, scope, identity)
        raise RateLimited(retry_after=math.ceil(stats.reset_time - time.time()))

    async def reset(self) -> None:
        await self._storage.reset()
