"""All SQL about chat messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.models import Message, User


async def list_messages(session: AsyncSession, room_id: int, *, before: int | None, limit: int) -> Sequence[Row[Any]]:
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
    return (await session.execute(stmt)).all()
