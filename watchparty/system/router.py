"""GET /api/health, in the original's shape."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text

from watchparty.auth.deps import AdminUser
from watchparty.core.clock import utcnow
from watchparty.core.deps import AppServices
from watchparty.core.redis import ping
from watchparty.core.responses import ORJSONResponse
from watchparty.core.schemas import Envelope

router = APIRouter(tags=["system"])
log = logging.getLogger("watchparty.health")


@router.get("/health", response_class=ORJSONResponse)
async def health(services: AppServices) -> ORJSONResponse:
    """Whether the API can serve: 200 with the state of its dependencies, or 503 when the database is down."""
    database = "connected"
    try:
        async with services.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # health reports failures instead of raising them
        log.warning("health: database unreachable: %s", type(exc).__name__)
        database = "disconnected"
    ok = database == "connected"
    if services.redis is None:
        redis = "not_configured"
    else:
        redis = "connected" if await ping(services.redis) else "disconnected"
    body = {
        "success": ok,
        "message": "WatchParty API is running" if ok else "WatchParty API cannot reach its database",
        "redis": redis,  # without Redis the API still serves, more slowly: it is reported, not required
        "database": database,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
    }
    return ORJSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})


@router.get("/cache/stats")
async def cache_stats(_admin: AdminUser, services: AppServices) -> Envelope[dict[str, object]]:
    """This process's cache counters per route (HIT, MISS, ERROR, BYPASS), and the breaker's state. Admins only."""
    cache = services.cache
    data: dict[str, object] = {
        "enabled": cache.enabled,
        "breaker": "open" if cache.breaker.is_open else "closed",
        "l1Entries": len(cache.l1),
        "l1Bytes": cache.l1.size,
        "routes": cache.stats.as_dict(),
    }
    return Envelope(data=data)
