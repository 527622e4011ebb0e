"""All SQL about chat messages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.models import Message, User


async def list_messages(
    session: AsyncSession, room_id: int, *, before: int | None, limit: int
) -> list[tuple[Message, str | None, dict[str, str] | None]]:
    """The newest `limit` messages before a message id, newest first (the caller reverses them)."""
    stmt = (
        select(Message, User.username, User.avatar_urls)
        .outerjoin(User, User.id == Message.user_id)
        .where(Message.room_id == room_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(Message.id < before)
    return list((await session.execute(stmt)).all())
