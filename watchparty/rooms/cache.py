"""GET /api/rooms and GET /api/rooms/{id} are cached; the tags say which writes make them stale."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, CacheRequest, IntParam, authorize_public
from watchparty.rooms import service as rooms_service

# Pages past this are served, but not cached, so a crawler cannot fill Redis with empty pages.
PAGE_PARAMS = (IntParam("page", 1, 1, 20), IntParam("limit", 10, 1, 100))


async def _room_viewer(request: CacheRequest) -> str | None:
    user = None
    if request.authorization is not None:
        user = await request.user()
        if user is None:
            return None
    async with request.services.db.session() as session:
        return await rooms_service.view_scope(session, request.path_params["room_id"], user)


def _list_tags(_path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return ("rooms", "people", "catalog")


def _room_tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return (f"room:{path['room_id']}", "people", "catalog")


ROUTES = [
    CachedRoute(
        "rooms",
        "/api/rooms",
        lambda s: s.cache_ttl_rooms,
        authorize_public,
        _list_tags,
        PAGE_PARAMS,
        frozenset({"q"}),
    ),
    CachedRoute(
        "room", "/api/rooms/{room_id}", lambda s: s.cache_ttl_room, _room_viewer, _room_tags, public_first=True
    ),
]
