"""All SQL about chat messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, RowMapping, Select, bindparam, delete, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from watchparty.models import Message, Room, RoomMember, RoomVisibility, User


def _history(before: bool) -> Select[Any]:
    """The newest messages of a room, newest first, in one statement that also checks the caller may read them:
    the room is public (written into the SQL, for the plan), or `:user_id` is a member."""
    member = exists().where(RoomMember.room_id == Message.room_id, RoomMember.user_id == bindparam("user_id"))
    public = literal(RoomVisibility.PUBLIC.value, literal_execute=True)
    stmt = (
        select(
            Message.id,
            Message.room_id,
            Message.user_id,
            User.username,
            User.avatar_urls,
            Message.author_name,
            Message.content,
            Message.video_position,
            Message.created_at,
        )
        .join(Room, Room.id == Message.room_id)
        .outerjoin(User, User.id == Message.user_id)
        .where(Message.room_id == bindparam("room_id"), or_(Room.visibility == public, member))
        .order_by(Message.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )
    return stmt.where(Message.id < bindparam("before")) if before else stmt


_HISTORY = {False: _history(False), True: _history(True)}


async def readable_history(
    conn: AsyncConnection, room_id: int, user_id: int | None, *, before: int | None, limit: int
) -> list[RowMapping]:
    """The newest `limit` messages before a message id, newest first (the caller reverses them), for a caller who may
    read the room; no rows for one who may not (or for no messages)."""
    params = {"room_id": room_id, "user_id": user_id or 0, "limit": limit, "before": before}
    return list((await conn.execute(_HISTORY[before is not None], params)).mappings().all())


async def delete_messages_before(session: AsyncSession, before: datetime) -> list[int]:
    """Deletes the messages older than `before`; returns the rooms that lost some."""
    result = await session.execute(delete(Message).where(Message.created_at < before).returning(Message.room_id))
    return sorted({row[0] for row in result})
