"""The realtime hub's life in a process: API processes run it with their sockets; worker processes run it
without listening, so that their room flows (the cleanup job's deletions) reach the live rooms too."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from watchparty.core.deps import Services
from watchparty.core.redis import Breaker, make_client
from watchparty.sync import service
from watchparty.sync.engine import Playback, RoomState, SyncParams
from watchparty.sync.hub import Hub


@asynccontextmanager
async def running_hub(services: Services, *, listen: bool = True) -> AsyncIterator[Hub | None]:
    url = services.settings.effective_redis_url
    if url is None:
        yield None
        return
    settings = services.settings

    async def load(room_id: int) -> RoomState | None:
        return await service.load_live_room(services, room_id, time.time())

    async def store(room_id: int, playback: Playback) -> None:
        await service.store_playback(services, room_id, playback)

    params = SyncParams(lead_ms=settings.sync_lead_ms, wait_timeout_ms=settings.sync_wait_timeout_ms)
    hub = Hub(
        # seconds of patience, so that a join storm does not refuse tickets; a breaker, so that a Redis that stopped
        # answering costs a few waits, not one per request (docs/operations.md). Three in a row, as the cache's: one
        # slow answer on a busy machine must not drop the live changes of the next seconds.
        make_client(
            url,
            settings,
            timeout_ms=2000,
            breaker=Breaker(settings.cache_breaker_failures, settings.cache_breaker_open_seconds),
        ),
        settings.key_prefix,
        params,
        time.time,
        load=load,
        store_playback=store,
    )
    if listen:
        await hub.start()
    services.db.hooks.live = hub
    try:
        yield hub
    finally:
        services.db.hooks.live = None
        await hub.close()
        await hub.redis.aclose()
