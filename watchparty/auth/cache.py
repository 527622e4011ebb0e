"""GET /api/auth/profile is cached per user."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, CacheRequest
from watchparty.users import service as users_service


async def _owner(request: CacheRequest) -> str | None:
    user = await request.user()
    return None if user is None else f"user:{user.id}"


def _tags(_path: Mapping[str, int], access: str) -> tuple[str, ...]:
    return (access,)


async def _load(request: CacheRequest, _values: Mapping[str, int]) -> bytes | None:
    """The caller's own profile; a bad token or a missing user is the application's 401."""
    user = await request.user()
    return None if user is None else await users_service.profile_body(request.services, user.id)


ROUTES = [CachedRoute("profile", "/api/auth/profile", lambda s: s.cache_ttl_profile, _owner, _tags, load=_load)]
