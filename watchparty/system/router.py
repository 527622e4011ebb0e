"""GET /api/health, in the original's shape."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from watchparty.auth.deps import AdminUser, Credentials
from watchparty.core.clock import iso_z, utcnow
from watchparty.core.deps import AppServices
from watchparty.core.redis import ping
from watchparty.core.responses import ORJSONResponse
from watchparty.core.schemas import Envelope
from watchparty.system.errors import InvalidMetricsToken, MetricsOff

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
        "timestamp": iso_z(utcnow()),
    }
    return ORJSONResponse(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})


@router.get("/cache/stats")
async def cache_stats(_admin: AdminUser, services: AppServices) -> Envelope[dict[str, object]]:
    """Cache counters per route (HIT, MISS, ERROR, BYPASS): `routes` for the process that answers, `allProcesses`
    for every API process as of their last flush (every `CACHE_STATS_FLUSH_MS`; null while Redis cannot be read);
    and this process's breaker and L1. Admins only."""
    cache = services.cache
    data: dict[str, object] = {
        "enabled": cache.enabled,
        "breaker": "open" if cache.breaker.is_open else "closed",
        "l1Entries": len(cache.l1),
        "l1Bytes": cache.l1.size,
        "routes": cache.stats.as_dict(),
        "allProcesses": await cache.all_processes_stats(),
        "flushIntervalMs": services.settings.cache_stats_flush_ms,
    }
    return Envelope(data=data)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(services: AppServices, credentials: Credentials) -> PlainTextResponse:
    """Cache requests by route and outcome, all API processes, in Prometheus text format. Answers only
    `Authorization: Bearer <METRICS_TOKEN>`; without METRICS_TOKEN set it does not exist (404)."""
    token = services.settings.metrics_token
    if token is None:
        raise MetricsOff()
    given = credentials.credentials if credentials is not None else ""
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise InvalidMetricsToken()
    totals = await services.cache.all_processes_stats()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_CacheCounters(totals or {}, totals is not None))
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _CacheCounters(Collector):
    def __init__(self, totals: dict[str, dict[str, int]], readable: bool) -> None:
        self.totals, self.readable = totals, readable

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "watchparty_cache_requests",
            "Requests to cached routes by outcome, all API processes (each adds its counts every few seconds).",
            labels=["route", "outcome"],
        )
        for route, outcomes in self.totals.items():
            for outcome, n in outcomes.items():
                requests.add_metric([route, outcome.lower()], n)
        yield requests
        yield GaugeMetricFamily(
            "watchparty_cache_stats_readable", "1 when the shared counters could be read from Redis.", self.readable
        )
