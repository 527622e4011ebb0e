"""GET /api/chat/{roomId}/messages is cached (the newest page only; `before` cursors are not)."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, CacheRequest, IntParam
from watchparty.rooms import service as rooms_service


async def _reader(request: CacheRequest) -> str | None:
    user = None
    if request.authorization is not None:
        user = await request.user()
        if user is None:
            return None
    async with request.services.db.session() as session:
        return await rooms_service.chat_scope(session, request.path_params["room_id"], user)


def _tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    # room:{id} too: a room that stops being public must stop sharing its "public" entry at once
    return (f"chat:{path['room_id']}", f"room:{path['room_id']}", "people")


ROUTES = [
    CachedRoute(
        "chat",
        "/api/chat/{room_id}/messages",
        lambda s: s.cache_ttl_chat,
        _reader,
        _tags,
        (IntParam("limit", 50, 1, 100),),
        frozenset({"before"}),
        public_first=True,
    )
]
