"""GET /api/chat/{roomId}/messages is cached (the newest page only; `before` cursors are not)."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.chat import service as chat_service
from watchparty.core.http_cache import CachedRoute, CacheRequest, IntParam
from watchparty.rooms import service as rooms_service
from watchparty.rooms.cache import room_authorizer


def _tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    # room:{id} too: a room that stops being public must stop sharing its "public" entry at once
    return (f"chat:{path['room_id']}", f"room:{path['room_id']}", "people")


async def _load(request: CacheRequest, values: Mapping[str, int]) -> bytes | None:
    """The newest page for a caller who may read it; anything else (a bad token, no access, no messages) is left to
    the application, which has the answers for those."""
    user = None
    if request.authorization is not None:
        user = await request.user()
        if user is None:
            return None
    return await chat_service.readable_history(
        request.services, request.path_params["room_id"], user, before=None, limit=values["limit"]
    )


ROUTES = [
    CachedRoute(
        "chat",
        "/api/chat/{room_id}/messages",
        lambda s: s.cache_ttl_chat,
        room_authorizer(rooms_service.chat_scope),
        _tags,
        (IntParam("limit", 50, 1, 100),),
        frozenset({"before"}),
        public_first=True,
        load=_load,
    )
]
