"""GET /api/chat/{roomId}/messages is cached (the newest page only; `before` cursors are not)."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, IntParam
from watchparty.rooms import service as rooms_service
from watchparty.rooms.cache import room_authorizer


def _tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    # room:{id} too: a room that stops being public must stop sharing its "public" entry at once
    return (f"chat:{path['room_id']}", f"room:{path['room_id']}", "people")


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
    )
]
