"""All SQL about chat messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    Select,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from watchparty.models import Message, MessageReaction, Room, RoomMember, User

_Parent, _ParentUser = aliased(Message), aliased(User)


class _joined(FunctionElement[str]):
    """Values of a group joined with commas: string_agg on PostgreSQL, group_concat on SQLite."""

    type = String()
    inherit_cache = True


@compiles(_joined, "postgresql")
def _joined_pg(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@compiles(_joined, "sqlite")
def _joined_sqlite(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


# A message's reactions in the history's one statement: "emoji:userId,emoji:userId" (parsed by reactions_from)
_REACTIONS = (
    select(_joined(MessageReaction.emoji + ":" + cast(MessageReaction.user_id, String)))
    .where(MessageReaction.message_id == Message.id)
    .correlate(Message)
    .scalar_subquery()
    .label("reactions")
)


def reactions_from(joined: str | None) -> dict[str, list[int]]:
    """emoji -> the users who reacted with it (ascending ids), from the history's `reactions` column."""
    out: dict[str, list[int]] = {}
    for pair in (joined or "").split(","):
        if pair:
            emoji, _, user_id = pair.rpartition(":")
            out.setdefault(emoji, []).append(int(user_id))
    return {emoji: sorted(users) for emoji, users in out.items()}


def _history(before: bool) -> Select[Any]:
    """The newest messages of a room, newest first, in one statement that also checks the caller may read them:
    the room is open to read (public, with no password), or `:user_id` is a member."""
    member = exists().where(RoomMember.room_id == Message.room_id, RoomMember.user_id == bindparam("user_id"))
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
            _Parent.id.label("reply_id"),
            _Parent.content.label("reply_content"),
            _Parent.deleted_at.label("reply_deleted_at"),
            func.coalesce(_ParentUser.username, _Parent.author_name).label("reply_author"),
            _REACTIONS,
        )
        .join(Room, Room.id == Message.room_id)
        .outerjoin(User, User.id == Message.user_id)
        .outerjoin(_Parent, _Parent.id == Message.reply_to_id)
        .outerjoin(_ParentUser, _ParentUser.id == _Parent.user_id)
        .where(
            Message.room_id == bindparam("room_id"),
            Message.deleted_at.is_(None),
            or_(Room.open_to_read, member),
        )
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


async def reactions_of(conn: AsyncConnection | AsyncSession, message_ids: list[int]) -> dict[int, dict[str, list[int]]]:
    """message id -> emoji -> the users who reacted with it (ascending ids)."""
    if not message_ids:
        return {}
    stmt = (
        select(MessageReaction.message_id, MessageReaction.emoji, MessageReaction.user_id)
        .where(MessageReaction.message_id.in_(message_ids))
        .order_by(MessageReaction.user_id)
    )
    out: dict[int, dict[str, list[int]]] = {}
    for row in await conn.execute(stmt):
        out.setdefault(row.message_id, {}).setdefault(row.emoji, []).append(row.user_id)
    return out


async def get_message(session: AsyncSession, room_id: int, message_id: int) -> Message | None:
    message = await session.get(Message, message_id)
    return message if message is not None and message.room_id == room_id else None


async def last_message_at(session: AsyncSession, room_id: int, user_id: int) -> datetime | None:
    stmt = select(func.max(Message.created_at)).where(Message.room_id == room_id, Message.user_id == user_id)
    return await session.scalar(stmt)


async def set_reaction(session: AsyncSession, message_id: int, user_id: int, emoji: str, on: bool) -> None:
    key = (MessageReaction.message_id == message_id, MessageReaction.user_id == user_id, MessageReaction.emoji == emoji)
    exists_now = await session.scalar(select(func.count()).select_from(MessageReaction).where(*key))
    if on and not exists_now:
        session.add(MessageReaction(message_id=message_id, user_id=user_id, emoji=emoji))
    elif not on and exists_now:
        await session.execute(delete(MessageReaction).where(*key))
    await session.flush()


async def clear_room(session: AsyncSession, room_id: int, at: datetime, by: int) -> int:
    """Hide every message of a room (clearing the chat); how many."""
    stmt = (
        update(Message)
        .where(Message.room_id == room_id, Message.deleted_at.is_(None))
        .values(deleted_at=at, deleted_by=by)
    )
    return int((await session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]
