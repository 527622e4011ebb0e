"""GET /api/auth/profile is cached per user."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, CacheRequest


async def _owner(request: CacheRequest) -> str | None:
    user = await request.user()
    return None if user is None else f"user:{user.id}"


def _tags(_path: Mapping[str, int], access: str) -> tuple[str, ...]:
    return (access,)


ROUTES = [CachedRoute("profile", "/api/auth/profile", lambda s: s.cache_ttl_profile, _owner, _tags)]
