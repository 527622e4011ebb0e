"""Chat use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.chat import repository
from watchparty.chat.schemas import Cursor, MessageCreate, MessagePage, MessageRead
from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.realtime import room_event
from watchparty.models import Message, User
from watchparty.rooms import service as rooms_service
from watchparty.users import service as users_service


async def list_messages(
    session: AsyncSession, room_id: int, user: User | None, *, before: int | None, limit: int
) -> MessagePage:
    """A page of history, oldest first, ending just before `before` (or at the newest message)."""
    await rooms_service.readable_room(session, room_id, user)
    rows = await repository.list_messages(session, room_id, before=before, limit=limit + 1)
    has_more = len(rows) > limit
    rows = list(rows[:limit])
    rows.reverse()
    messages = [
        MessageRead(
            id=m.id,
            room_id=m.room_id,
            user=users_service.to_public(m.user_id, username, avatars)
            if m.user_id is not None and username is not None
            else None,
            content=m.content,
            video_position=m.video_position,
            created_at=m.created_at,
        )
        for m, username, avatars in rows
    ]
    next_before = messages[0].id if has_more and messages else None
    return MessagePage(data=messages, pagination=Cursor(limit=limit, has_more=has_more, next_before=next_before))


async def post_message(session: AsyncSession, room_id: int, user: User, data: MessageCreate) -> MessageRead:
    """Store a message from a member; it also marks the room and the member as active."""
    room, member = await rooms_service.member_room(session, room_id, user)
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
        content=message.content,
        video_position=message.video_position,
        created_at=message.created_at,
    )
    room_event(session, room_id, {"type": "chat", "message": read.model_dump(mode="json", by_alias=True)})
    return read
