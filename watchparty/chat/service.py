"""Chat use cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.chat import repository
from watchparty.chat.schemas import MessageCreate, MessageRead
from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.realtime import room_event
from watchparty.core.responses import encode_json
from watchparty.models import Message, User
from watchparty.rooms import service as rooms_service
from watchparty.users import service as users_service


async def history(services: Services, room_id: int, user: User | None, *, before: int | None, limit: int) -> bytes:
    """A page of history, oldest first, ending just before `before` (or at the newest message), encoded as a
    `MessagePage`. A hot read (ADR 0012): one statement reads the page and checks access together."""
    body = await readable_history(services, room_id, user, before=before, limit=limit)
    if body is None:  # nothing found: a room this caller may not read (404/403 by the room rules), or no messages
        async with services.db.session() as session:
            await rooms_service.readable_room(session, room_id, user)
        body = _page_json([], limit, has_more=False)
    return body


async def readable_history(
    services: Services, room_id: int, user: User | None, *, before: int | None, limit: int
) -> bytes | None:
    """One statement that reads the page and checks access together; None when it finds nothing."""
    async with services.db.read() as conn:
        rows = await repository.readable_history(
            conn, room_id, user.id if user else None, before=before, limit=limit + 1
        )
    if not rows:
        return None
    return _page_json([message_json(m) for m in reversed(rows[:limit])], limit, has_more=len(rows) > limit)


def _page_json(messages: list[dict[str, Any]], limit: int, *, has_more: bool) -> bytes:
    cursor = {"limit": limit, "hasMore": has_more, "nextBefore": messages[0]["id"] if has_more else None}
    return encode_json({"success": True, "data": messages, "pagination": cursor})


def message_json(row: RowMapping) -> dict[str, Any]:
    """A history row as MessageRead's wire form."""
    user = None
    if row["user_id"] is not None and row["username"] is not None:
        user = users_service.public_json(row["user_id"], row["username"], row["avatar_urls"])
    return {
        "id": row["id"],
        "roomId": row["room_id"],
        "user": user,
        "authorName": row["username"] or row["author_name"],
        "content": row["content"],
        "videoPosition": row["video_position"],
        "createdAt": row["created_at"],
    }


async def post_message(session: AsyncSession, room_id: int, user: User, data: MessageCreate) -> MessageRead:
    """Store a message from a member who is not muted; it also marks the room and the member as active."""
    room, member = await rooms_service.member_room(session, room_id, user)
    await rooms_service.refuse_muted(session, room_id, user.id)
    now = utcnow()
    message = Message(room_id=room.id, user_id=user.id, content=data.content, video_position=data.video_position)
    session.add(message)
    rooms_service.touch_activity(session, room)
    member.last_seen_at = now
    await session.flush()
    invalidate(session, f"chat:{room_id}")
    read = MessageRead(
        id=message.id,
        room_id=room.id,
        user=users_service.to_public(user.id, user.username, user.avatar_urls),
        author_name=user.username,
        content=message.content,
        video_position=message.video_position,
        created_at=message.created_at,
    )
    room_event(session, room_id, {"type": "chat", "message": read.model_dump(mode="json", by_alias=True)})
    return read


async def remove_messages_before(session: AsyncSession, before: datetime) -> list[int]:
    """The cleanup job's message removal; returns the rooms that lost messages (their chat caches are invalidated)."""
    rooms = await repository.delete_messages_before(session, before)
    invalidate(session, *(f"chat:{r}" for r in rooms))
    return rooms
