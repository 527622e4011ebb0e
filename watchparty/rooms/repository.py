"""All SQL about rooms, members and invites."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.models import Invite, Movie, Room, RoomMember, RoomVisibility, User

# A correlated count reads the (room_id, user_id) primary key of room_member for each listed room only,
# instead of a GROUP BY over every member of every room.
_participants = (
    select(func.count())
    .select_from(RoomMember)
    .where(RoomMember.room_id == Room.id)
    .correlate(Room)
    .scalar_subquery()
    .label("participant_count")
)

_VIEW_COLUMNS: tuple[Any, ...] = (
    Room.id,
    Room.name,
    Room.description,
    Room.visibility,
    Room.password_hash.is_not(None).label("has_password"),
    Room.capacity,
    Room.last_activity_at,
    Room.created_at,
    User.id.label("host_id"),
    User.username.label("host_username"),
    User.avatar_urls.label("host_avatar_urls"),
    Movie.id.label("movie_id"),
    Movie.title.label("movie_title"),
    Movie.poster_url.label("movie_poster_url"),
    Movie.video_url.label("movie_video_url"),
    Movie.duration_seconds.label("movie_duration_seconds"),
    _participants,
)


# Built once: constructing this select per request cost about 0.2 ms.
_VIEW: Select[Any] = (
    select(*_VIEW_COLUMNS).join(User, User.id == Room.host_id).outerjoin(Movie, Movie.id == Room.movie_id)
)


def _public_since(stmt: Select[Any], since: datetime, q: str | None) -> Select[Any]:
    stmt = stmt.where(Room.visibility == RoomVisibility.PUBLIC, Room.last_activity_at >= since)
    if q:
        stmt = stmt.where(func.lower(Room.name).contains(q.lower(), autoescape=True))
    return stmt


async def list_public_rooms(
    session: AsyncSession, *, since: datetime, q: str | None, offset: int, limit: int
) -> Sequence[Row[Any]]:
    stmt = (
        _public_since(_VIEW, since, q)
        .order_by(Room.last_activity_at.desc(), Room.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def count_public_rooms(session: AsyncSession, *, since: datetime, q: str | None) -> int:
    stmt = _public_since(select(func.count()).select_from(Room), since, q)
    return int(await session.scalar(stmt) or 0)


async def get_room_view(session: AsyncSession, room_id: int) -> Row[Any] | None:
    row: Row[Any] | None = (await session.execute(_VIEW.where(Room.id == room_id))).first()
    return row


async def get_room(session: AsyncSession, room_id: int, *, for_update: bool = False) -> Room | None:
    stmt = select(Room).where(Room.id == room_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_member(session: AsyncSession, room_id: int, user_id: int) -> RoomMember | None:
    return await session.get(RoomMember, (room_id, user_id))


async def count_members(session: AsyncSession, room_id: int) -> int:
    stmt = select(func.count()).select_from(RoomMember).where(RoomMember.room_id == room_id)
    return int(await session.scalar(stmt) or 0)


async def list_members(session: AsyncSession, room_id: int) -> list[tuple[RoomMember, str, dict[str, str] | None]]:
    stmt = (
        select(RoomMember, User.username, User.avatar_urls)
        .join(User, User.id == RoomMember.user_id)
        .where(RoomMember.room_id == room_id)
        .order_by(RoomMember.joined_at, RoomMember.user_id)
    )
    return list((await session.execute(stmt)).all())


async def get_successor(session: AsyncSession, room_id: int, leaving_user_id: int) -> RoomMember | None:
    """The member who becomes host when the host leaves: the longest-standing moderator, else member."""
    stmt = (
        select(RoomMember)
        .where(RoomMember.room_id == room_id, RoomMember.user_id != leaving_user_id)
        .order_by((RoomMember.role == "moderator").desc(), RoomMember.joined_at, RoomMember.user_id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def delete_member(session: AsyncSession, room_id: int, user_id: int) -> None:
    await session.execute(delete(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id))


async def get_invite_by_hash(session: AsyncSession, token_hash: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.token_hash == token_hash).with_for_update())
