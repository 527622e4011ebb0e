"""All SQL about rooms, members, invites, the playlist and moderation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, RowMapping, Select, bindparam, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from watchparty.core.db import like_pattern, page_and_total
from watchparty.models import (
    Invite,
    MemberRole,
    Message,
    ModerationEntry,
    Movie,
    PlaylistItem,
    PlaylistVote,
    Room,
    RoomMember,
    RoomSanction,
    RoomVisibility,
    User,
)

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
    Room.open_control,
    Room.guests_allowed,
    Room.subtitle_language,
    Room.slow_mode_seconds,
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
    Movie.check_status.label("movie_check_status"),
    Movie.media_check.label("movie_media_check"),
    _participants,
)


# Built once: constructing this select per request cost about 0.2 ms.
_VIEW: Select[Any] = (
    select(*_VIEW_COLUMNS).join(User, User.id == Room.host_id).outerjoin(Movie, Movie.id == Room.movie_id)
)


def _listed(room: Any, search: bool) -> list[Any]:
    """What puts a room on the public list: public, active since `:since`, and its name matching `:pattern`."""
    # 'public' is written into the SQL, not bound: under a prepared statement's generic plan a bound value cannot
    # select the partial index ix_room_public_last_activity, and the list fell back to scanning and sorting every
    # room (2.3 ms in PostgreSQL against 0.37 ms, EXPLAIN ANALYZE on the benchmark's seed data).
    public = literal(RoomVisibility.PUBLIC.value, literal_execute=True)
    conditions = [room.visibility == public, room.last_activity_at >= bindparam("since")]
    if search:
        conditions.append(func.lower(room.name).like(bindparam("pattern"), escape="/"))
    return conditions


def _total(search: bool) -> Select[Any]:
    counted = aliased(Room)  # its own FROM: not correlated with the listed rooms
    return select(func.count()).select_from(counted).where(*_listed(counted, search))


def _page(search: bool) -> Select[Any]:
    """A page of the list with the total as an uncorrelated scalar subquery, which PostgreSQL runs once."""
    return (
        _VIEW.add_columns(_total(search).scalar_subquery().label("total"))
        .where(*_listed(Room, search))
        .order_by(Room.last_activity_at.desc(), Room.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


# Built once (building a select per request cost about 0.2 ms); the values are bound parameters.
_PAGE = {False: _page(False), True: _page(True)}
_TOTAL = {False: _total(False), True: _total(True)}


async def page_of_public_rooms(
    conn: AsyncConnection, *, since: datetime, q: str | None, offset: int, limit: int
) -> tuple[Sequence[RowMapping], int]:
    """A page of the public list, newest activity first, and the total: one round trip (two past the last page)."""
    search = bool(q)
    params: dict[str, Any] = {"since": since, "offset": offset, "limit": limit}
    if q:
        params["pattern"] = like_pattern(q)
    return await page_and_total(conn, _PAGE[search], _TOTAL[search], params)


_MINE: Select[Any] = (
    _VIEW.add_columns(RoomMember.role.label("my_role"), RoomMember.last_seen_at.label("my_last_seen_at"))
    .join(RoomMember, RoomMember.room_id == Room.id)
    .where(RoomMember.user_id == bindparam("user_id"))
    .order_by(RoomMember.last_seen_at.desc(), Room.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


async def rooms_of(session: AsyncSession, user_id: int, limit: int) -> Sequence[Row[Any]]:
    """The rooms this person is a member of (host included), the one they were last in first."""
    rows: Sequence[Row[Any]] = (await session.execute(_MINE, {"user_id": user_id, "limit": limit})).all()
    return rows


_ROOM_ID = bindparam("room_id", type_=Integer)
_IS_MEMBER = (
    select(RoomMember.user_id)
    .where(RoomMember.room_id == Room.id, RoomMember.user_id == bindparam("user_id", type_=Integer))
    .correlate(Room)
    .exists()
)
# The hot reads of one room (ADR 0012): who may see it, and what they see, in one statement each
_ACCESS = select(Room.visibility, Room.open_to_read.label("open_to_read"), _IS_MEMBER.label("is_member")).where(
    Room.id == _ROOM_ID
)
_SEEN: Select[Any] = _VIEW.where(
    Room.id == _ROOM_ID, or_(Room.visibility != literal(RoomVisibility.PRIVATE.value, literal_execute=True), _IS_MEMBER)
)


async def access_of(conn: AsyncConnection | AsyncSession, room_id: int, user_id: int | None) -> RowMapping | None:
    """The room's visibility, whether anyone may read inside it, and whether this caller is a member."""
    row: RowMapping | None = (
        (await conn.execute(_ACCESS, {"room_id": room_id, "user_id": user_id or 0})).mappings().first()
    )
    return row


async def seen_room_view(conn: AsyncConnection, room_id: int, user_id: int | None) -> RowMapping | None:
    """The room's view row for a caller who may see it (not private, or a member); None otherwise."""
    row: RowMapping | None = (
        (await conn.execute(_SEEN, {"room_id": room_id, "user_id": user_id or 0})).mappings().first()
    )
    return row


async def get_room_view(session: AsyncSession, room_id: int) -> Row[Any] | None:
    row: Row[Any] | None = (await session.execute(_VIEW.where(Room.id == room_id))).first()
    return row


async def get_room(session: AsyncSession, room_id: int, *, for_update: bool = False) -> Room | None:
    """The room; `for_update` holds its row until the unit of work ends, and reads it afresh. The lock is taken by a
    write that changes nothing, before the read: on PostgreSQL that is a row lock like FOR UPDATE; SQLite, which
    has no FOR UPDATE, takes its write lock there and reads what was committed before it (a read first would keep
    an older snapshot, and two writers would both act on it)."""
    stmt = select(Room).where(Room.id == room_id)
    if for_update:
        await session.execute(
            update(Room)
            .where(Room.id == room_id)
            .values(id=Room.id, updated_at=Room.updated_at)  # changes nothing, not even updated_at
            .execution_options(synchronize_session=False)
        )
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
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
    """The member who becomes host when the host leaves: the longest-standing moderator, else member, else (only
    guests left) guest."""
    rank = case((RoomMember.role == MemberRole.MODERATOR, 0), (RoomMember.role == MemberRole.MEMBER, 1), else_=2)
    stmt = (
        select(RoomMember)
        .where(RoomMember.room_id == room_id, RoomMember.user_id != leaving_user_id)
        .order_by(rank, RoomMember.joined_at, RoomMember.user_id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def delete_member(session: AsyncSession, room_id: int, user_id: int) -> None:
    await session.execute(delete(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id))


async def get_invite_by_hash(session: AsyncSession, token_hash: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.token_hash == token_hash).with_for_update())


async def get_live_facts(session: AsyncSession, room_id: int) -> Row[Any] | None:
    stmt = (
        select(
            Room.movie_id,
            Movie.duration_seconds,
            Room.open_control,
            Room.playback_position,
            Room.playback_rate,
            Room.playback_paused,
            Room.playback_anchor,
            Room.current_item_id,
            Room.playlist_version,
            Room.playlist_loop,
            Room.skip_ratio,
            Room.members_add,
        )
        .outerjoin(Movie, Movie.id == Room.movie_id)
        .where(Room.id == room_id)
    )
    row: Row[Any] | None = (await session.execute(stmt)).first()  # type: ignore[assignment]
    return row


async def set_playback(
    session: AsyncSession, room_id: int, *, position: float, rate: float, paused: bool, anchor: datetime
) -> None:
    await session.execute(
        update(Room)
        .where(Room.id == room_id, or_(Room.playback_anchor.is_(None), Room.playback_anchor <= anchor))
        .values(playback_position=position, playback_rate=rate, playback_paused=paused, playback_anchor=anchor)
        .execution_options(synchronize_session=False)
    )


async def delete_rooms_inactive_since(session: AsyncSession, before: datetime) -> list[int]:
    result = await session.execute(delete(Room).where(Room.last_activity_at < before).returning(Room.id))
    return [row[0] for row in result]


async def delete_idle_members(session: AsyncSession, before: datetime) -> list[tuple[int, int]]:
    """Non-host members of public rooms not seen since `before`: (room id, user id) of each one removed."""
    public_rooms = select(Room.id).where(Room.visibility == RoomVisibility.PUBLIC)
    result = await session.execute(
        delete(RoomMember)
        .where(
            RoomMember.last_seen_at < before,
            RoomMember.room_id.in_(public_rooms),
            RoomMember.user_id != select(Room.host_id).where(Room.id == RoomMember.room_id).scalar_subquery(),
        )
        .returning(RoomMember.room_id, RoomMember.user_id)
    )
    return [(row[0], row[1]) for row in result]


# ---- the playlist (ADR 0015) ----------------------------------------------------------------------------------


async def list_items(session: AsyncSession, room_id: int) -> list[tuple[PlaylistItem, int | None]]:
    """The room's items in order, each with its movie's duration (seconds, when the catalogue knows it)."""
    stmt = (
        select(PlaylistItem, Movie.duration_seconds)
        .join(Movie, Movie.id == PlaylistItem.movie_id)
        .where(PlaylistItem.room_id == room_id)
        .order_by(PlaylistItem.position, PlaylistItem.id)
    )
    return [(item, duration) for item, duration in (await session.execute(stmt)).all()]


async def playlist_rows(session: AsyncSession, room_id: int) -> Sequence[RowMapping]:
    """The room's items in order with what the wire shows of each: the movie, and who added it."""
    stmt = (
        select(
            PlaylistItem.id,
            PlaylistItem.created_at,
            PlaylistItem.added_by,
            User.username.label("adder_username"),
            User.avatar_urls.label("adder_avatar_urls"),
            Movie.id.label("movie_id"),
            Movie.title.label("movie_title"),
            Movie.poster_url.label("movie_poster_url"),
            Movie.video_url.label("movie_video_url"),
            Movie.duration_seconds.label("movie_duration_seconds"),
            Movie.check_status.label("movie_check_status"),
            Movie.media_check.label("movie_media_check"),
        )
        .join(Movie, Movie.id == PlaylistItem.movie_id)
        .outerjoin(User, User.id == PlaylistItem.added_by)
        .where(PlaylistItem.room_id == room_id)
        .order_by(PlaylistItem.position, PlaylistItem.id)
    )
    return (await session.execute(stmt)).mappings().all()


async def playlist_votes(session: AsyncSession, room_id: int) -> list[tuple[int, int]]:
    """(item id, user id) of every vote on the room's items."""
    stmt = (
        select(PlaylistVote.item_id, PlaylistVote.user_id)
        .join(PlaylistItem, PlaylistItem.id == PlaylistVote.item_id)
        .where(PlaylistItem.room_id == room_id)
        .order_by(PlaylistVote.item_id, PlaylistVote.user_id)
    )
    return [(item_id, user_id) for item_id, user_id in (await session.execute(stmt)).all()]


async def set_vote(session: AsyncSession, item_id: int, user_id: int, up: bool) -> None:
    existing = await session.get(PlaylistVote, (item_id, user_id))
    if up and existing is None:
        session.add(PlaylistVote(item_id=item_id, user_id=user_id))
    elif not up and existing is not None:
        await session.delete(existing)
    await session.flush()


async def delete_items(session: AsyncSession, item_ids: Sequence[int]) -> None:
    if item_ids:
        await session.execute(delete(PlaylistItem).where(PlaylistItem.id.in_(list(item_ids))))


# ---- moderation (ADR 0016) ----------------------------------------------------------------------------------------


def _in_force(kind: str, now: datetime) -> Any:
    return (
        RoomSanction.kind == kind,
        RoomSanction.lifted_at.is_(None),
        or_(RoomSanction.expires_at.is_(None), RoomSanction.expires_at > now),
    )


async def sanction_in_force(
    session: AsyncSession, room_id: int, user_id: int, kind: str, now: datetime
) -> RoomSanction | None:
    stmt = (
        select(RoomSanction)
        .where(RoomSanction.room_id == room_id, RoomSanction.user_id == user_id, *_in_force(kind, now))
        .order_by(RoomSanction.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def guest_ban_in_force(
    session: AsyncSession, room_id: int, device_hash: str | None, address: str | None, now: datetime
) -> RoomSanction | None:
    """A ban in force of a guest from this device or this address."""
    matches = [RoomSanction.device_hash == device_hash] if device_hash else []
    if address:
        matches.append(RoomSanction.address == address)
    if not matches:
        return None
    stmt = (
        select(RoomSanction)
        .where(RoomSanction.room_id == room_id, *_in_force("ban", now), or_(*matches))
        .order_by(RoomSanction.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def sanctions_in_force(
    session: AsyncSession, room_id: int, kind: str, now: datetime
) -> list[tuple[RoomSanction, str, dict[str, str] | None]]:
    stmt = (
        select(RoomSanction, User.username, User.avatar_urls)
        .join(User, User.id == RoomSanction.user_id)
        .where(RoomSanction.room_id == room_id, *_in_force(kind, now))
        .order_by(RoomSanction.id)
    )
    return list((await session.execute(stmt)).all())


async def lift_sanctions(session: AsyncSession, room_id: int, user_id: int, kind: str, now: datetime) -> int:
    """Lift every sanction of this kind in force on this person; how many were."""
    stmt = (
        update(RoomSanction)
        .where(RoomSanction.room_id == room_id, RoomSanction.user_id == user_id, *_in_force(kind, now))
        .values(lifted_at=now)
    )
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def get_entry(session: AsyncSession, room_id: int, entry_id: int) -> ModerationEntry | None:
    entry = await session.get(ModerationEntry, entry_id, with_for_update=True)
    return entry if entry is not None and entry.room_id == room_id else None


async def last_unreverted_entry(
    session: AsyncSession, room_id: int, target_id: int, action: str
) -> ModerationEntry | None:
    stmt = (
        select(ModerationEntry)
        .where(
            ModerationEntry.room_id == room_id,
            ModerationEntry.target_id == target_id,
            ModerationEntry.action == action,
            ModerationEntry.reverted_at.is_(None),
        )
        .order_by(ModerationEntry.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def page_of_entries(
    session: AsyncSession, room_id: int, *, before: int | None, limit: int
) -> list[ModerationEntry]:
    """The log, newest first, from just before `before`."""
    stmt = select(ModerationEntry).where(ModerationEntry.room_id == room_id)
    if before is not None:
        stmt = stmt.where(ModerationEntry.id < before)
    return list((await session.scalars(stmt.order_by(ModerationEntry.id.desc()).limit(limit))).all())


async def users_by_id(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, dict[str, str] | None]]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.username, User.avatar_urls).where(User.id.in_(ids)))
    return {row.id: (row.username, row.avatar_urls) for row in rows}


async def restore_messages(
    session: AsyncSession, room_id: int, *, message_id: int | None = None, deleted_at: str | None = None
) -> int:
    """Undo a deletion (one message) or a clearing (every message it hid, by its moment); how many came back."""
    stmt = update(Message).where(Message.room_id == room_id, Message.deleted_at.is_not(None))
    if message_id is not None:
        stmt = stmt.where(Message.id == message_id)
    else:
        assert deleted_at is not None
        stmt = stmt.where(Message.deleted_at == datetime.fromisoformat(deleted_at))
    result = await session.execute(stmt.values(deleted_at=None, deleted_by=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
