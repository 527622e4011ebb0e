"""The realtime hub's life in an API process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from watchparty.core import realtime
from watchparty.core.deps import Services
from watchparty.core.redis import make_client
from watchparty.sync.engine import SyncParams
from watchparty.sync.hub import Hub


@asynccontextmanager
async def running_hub(services: Services) -> AsyncIterator[Hub | None]:
    url = services.settings.effective_redis_url
    if url is None:
        yield None
        return
    settings = services.settings
    params = SyncParams(lead_ms=settings.sync_lead_ms, wait_timeout_ms=settings.sync_wait_timeout_ms)
    hub = Hub(make_client(url, settings, timeout_ms=2000), settings.key_prefix, params, time.time)
    await hub.start()
    info = services.db.session_info
    info[realtime.PUBLISH] = hub.publish
    info[realtime.KICK] = hub.kick
    info[realtime.REVOKE] = hub.revoke_user
    try:
        yield hub
    finally:
        for key in (realtime.PUBLISH, realtime.KICK, realtime.REVOKE):
            info.pop(key, None)
        await hub.close()
        await hub.redis.aclose()
