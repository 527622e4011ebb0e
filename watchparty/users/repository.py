"""All SQL about users, and the moves of a guest's rows when the guest becomes (or joins) an account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, RowMapping, bindparam, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from watchparty.models import (
    MemberRole,
    Message,
    ModerationEntry,
    PlaylistItem,
    PlaylistVote,
    RoomMember,
    RoomSanction,
    User,
)


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


# The hot read of a profile (ADR 0012), built once
_PROFILE = select(
    User.id,
    User.email,
    User.username,
    User.is_guest,
    User.role,
    User.language,
    User.avatar_urls,
    User.created_at,
    User.updated_at,
).where(User.id == bindparam("user_id", type_=Integer))


async def profile_row(conn: AsyncConnection, user_id: int) -> RowMapping | None:
    row: RowMapping | None = (await conn.execute(_PROFILE, {"user_id": user_id})).mappings().first()
    return row


async def get_user_for_update(session: AsyncSession, user_id: int) -> User | None:
    """The row, locked until commit (PostgreSQL; SQLite serialises writers anyway)."""
    return await session.scalar(select(User).where(User.id == user_id).with_for_update())


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.username) == username.lower()))


# ---- guests (ADR 0016): the one place an identity's rows move or go ---------------------------------------------


async def upgrade_guest_roles(session: AsyncSession, user_id: int) -> list[int]:
    """A guest who signed up is a member wherever they were a guest: the rooms whose role changed."""
    result = await session.execute(
        update(RoomMember)
        .where(RoomMember.user_id == user_id, RoomMember.role == MemberRole.GUEST)
        .values(role=MemberRole.MEMBER)
        .returning(RoomMember.room_id)
    )
    return [row[0] for row in result]


async def merge_guest(session: AsyncSession, guest_id: int, account_id: int) -> list[int]:
    """A guest signed in to an existing account: their messages, memberships (where the account has none; a guest's
    role becomes member), playlist items and votes, bans and mutes, and log entries move to the account; the guest
    row is then deleted. Returns the rooms whose members changed."""
    mine = select(RoomMember.room_id).where(RoomMember.user_id == account_id)
    rooms = [
        row[0]
        for row in await session.execute(
            update(RoomMember)
            .where(RoomMember.user_id == guest_id, RoomMember.room_id.not_in(mine))
            .values(
                user_id=account_id,
                role=case((RoomMember.role == MemberRole.GUEST, MemberRole.MEMBER), else_=RoomMember.role),
            )
            .returning(RoomMember.room_id)
        )
    ]
    await session.execute(update(Message).where(Message.user_id == guest_id).values(user_id=account_id))
    await session.execute(update(PlaylistItem).where(PlaylistItem.added_by == guest_id).values(added_by=account_id))
    voted = select(PlaylistVote.item_id).where(PlaylistVote.user_id == account_id)
    await session.execute(
        update(PlaylistVote)
        .where(PlaylistVote.user_id == guest_id, PlaylistVote.item_id.not_in(voted))
        .values(user_id=account_id)
    )
    await session.execute(update(RoomSanction).where(RoomSanction.user_id == guest_id).values(user_id=account_id))
    for column in (ModerationEntry.target_id, ModerationEntry.actor_id):
        await session.execute(update(ModerationEntry).where(column == guest_id).values({column: account_id}))
    await session.execute(delete(User).where(User.id == guest_id))  # what did not move goes with it (cascade)
    return rooms


async def stale_guests(session: AsyncSession, before: datetime) -> list[tuple[int, str]]:
    """Guests not seen since `before` (no sign-in and no token refresh): (id, name)."""
    seen = func.coalesce(User.last_login_at, User.created_at)
    return [(r.id, r.username) for r in await session.execute(select(User.id, User.username).where(
        User.is_guest.is_(True), seen < before))]  # fmt: skip


async def delete_users(session: AsyncSession, user_ids: list[int]) -> list[int]:
    """Delete these accounts; their messages keep their names (`author_name`). Returns the rooms they were in."""
    if not user_ids:
        return []
    rooms = await session.scalars(select(RoomMember.room_id).where(RoomMember.user_id.in_(user_ids)).distinct())
    names = select(User.username).where(User.id == Message.user_id).scalar_subquery()
    await session.execute(update(Message).where(Message.user_id.in_(user_ids)).values(author_name=names))
    await session.execute(delete(User).where(User.id.in_(user_ids)))
    return list(rooms)
