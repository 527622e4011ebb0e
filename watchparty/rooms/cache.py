"""GET /api/rooms and GET /api/rooms/{id} are cached; the tags say which writes make them stale."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from watchparty.core.http_cache import Authorizer, CachedRoute, CacheRequest, IntParam, authorize_public
from watchparty.core.schemas import PageParams
from watchparty.rooms import service as rooms_service

# Pages past this are served, but not cached, so a crawler cannot fill Redis with empty pages.
PAGE_PARAMS = (IntParam("page", 1, 1, 20), IntParam("limit", 10, 1, 100))


ScopeOf = Callable[[AsyncConnection, int, Any], Awaitable[str | None]]


def room_authorizer(scope_of: ScopeOf) -> Authorizer:
    """An authoriser for a room's resources: the caller (a bad token bypasses to the application's 401), then
    the room's rules in the database decide the scope the entry is shared in."""

    async def authorize(request: CacheRequest) -> str | None:
        user = None
        if request.authorization is not None:
            user = await request.user()
            if user is None:
                return None
        async with request.services.db.read() as conn:  # one statement (ADR 0012)
            return await scope_of(conn, request.path_params["room_id"], user)

    return authorize


def _list_tags(_path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return ("rooms", "people", "catalog")


def _room_tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return (f"room:{path['room_id']}", "people", "catalog")


def _playlist_tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    # room:{id} too: a room that stops being public must stop sharing its "public" entry at once
    return (f"playlist:{path['room_id']}", f"room:{path['room_id']}", "people", "catalog")


async def _load_list(request: CacheRequest, values: Mapping[str, int]) -> bytes | None:
    """The list for canonical paging (no search): what the route answers, without the route."""
    paging = PageParams(page=values["page"], limit=values["limit"])
    return await rooms_service.list_rooms(request.services, paging, None)


async def _load_room(request: CacheRequest, _values: Mapping[str, int]) -> bytes | None:
    """The room for a caller who may see it; a bad token, or no such room for them, is left to the application."""
    user = None
    if request.authorization is not None:
        user = await request.user()
        if user is None:
            return None
    return await rooms_service.room_body(request.services, request.path_params["room_id"], user)


ROUTES = [
    CachedRoute(
        "rooms",
        "/api/rooms",
        lambda s: s.cache_ttl_rooms,
        authorize_public,
        _list_tags,
        PAGE_PARAMS,
        frozenset({"q"}),
        load=_load_list,
    ),
    CachedRoute(
        "room",
        "/api/rooms/{room_id}",
        lambda s: s.cache_ttl_room,
        room_authorizer(rooms_service.view_scope),
        _room_tags,
        public_first=True,
        load=_load_room,
    ),
    CachedRoute(
        "playlist",
        "/api/rooms/{room_id}/playlist",
        lambda s: s.cache_ttl_room,
        room_authorizer(rooms_service.view_scope),
        _playlist_tags,
        public_first=True,
    ),
]
