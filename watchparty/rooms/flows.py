"""Room flows: every change of a durable room fact that the live room must learn (ADR 0014).

Each flow checks the room policy, writes the database, and registers the live change (`core.realtime.live_change`);
the change reaches the live room on every process once the unit of work commits. The REST routes, the socket
handlers and the cleanup job call these, and nothing else changes these facts: the media, roles and the host,
open control, membership, and the room's existence; the playlist's flows (playlist_flows.py) change the list and
the item playing, and the moderation flows (moderation_flows.py) kick, ban, mute and hand the host role over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.realtime import ControlSet, MemberGone, RoleSet, RoomGone, live_change
from watchparty.models import MemberRole, Room, RoomMember, User
from watchparty.rooms import playlist_flows, policy, repository, service
from watchparty.rooms.errors import CapacityBelowMembers, InvalidRoleChange, NotAllowed
from watchparty.rooms.schemas import RoomRead, RoomUpdate


async def _member(session: AsyncSession, room_id: int, user: User) -> tuple[Room, RoomMember]:
    # Every flow here writes the room or its members: the room's row is locked first, so that flows on one room
    # take turns, and one that meets a deletion finds the room gone (404) instead of updating a row that is no
    # longer there (a 500 the fuzzer found, with a leave and a delete at once).
    return await service.member_room(session, room_id, user, for_update=True)


def _require(room: Room, member: RoomMember, action: policy.Action) -> None:
    if not policy.allowed(member.role.value, action, open_control=room.open_control):
        raise NotAllowed()


async def update_room(
    session: AsyncSession, services: Services, user: User, room_id: int, data: RoomUpdate
) -> RoomRead:
    """Change a room's settings (host), its media (host and moderators) or open control (host)."""
    room, member = await _member(session, room_id, user)
    changes = data.model_dump(exclude_unset=True)
    settings = {k: v for k, v in changes.items() if k not in ("movie_id", "open_control")}
    if settings or not changes:
        _require(room, member, "editRoom")
    if "movie_id" in changes:
        await _set_media(session, user, room, member, changes["movie_id"])
    if changes.get("open_control") is not None:
        _set_open_control(session, room, member, bool(changes["open_control"]))
    new_capacity = settings.get("capacity")
    members = await repository.count_members(session, room_id) if new_capacity is not None else 0
    if new_capacity is not None and new_capacity < members:
        raise CapacityBelowMembers(
            f"The room has {members} members already; the capacity can be {members} or more",
            details=[{"field": "capacity", "code": "capacity_below_members", "limit": members}],
        )
    if "password" in settings:
        password = settings.pop("password")
        room.password_hash = await services.hasher.hash(password) if password else None
    for field, value in settings.items():
        if value is None and field in {"name", "visibility", "capacity", "guests_allowed"}:
            continue  # required fields cannot be cleared
        setattr(room, field, value)
    room.last_activity_at = utcnow()
    await session.flush()
    invalidate(session, "rooms", f"room:{room_id}")
    return await service.get_room(session, room_id, user)


async def set_media(session: AsyncSession, user: User, room_id: int, movie_id: int | None) -> None:
    """The room plays this movie from the catalogue (None: nothing), from 0, paused: it goes into the playlist
    right after the playing item (ADR 0015)."""
    room, member = await _member(session, room_id, user)
    await _set_media(session, user, room, member, movie_id)


async def _set_media(session: AsyncSession, user: User, room: Room, member: RoomMember, movie_id: int | None) -> None:
    _require(room, member, "changeMedia")
    await playlist_flows.play_now(session, user, room.id, movie_id)


async def set_open_control(session: AsyncSession, user: User, room_id: int, open_: bool) -> None:
    room, member = await _member(session, room_id, user)
    _set_open_control(session, room, member, open_)
    await session.flush()
    invalidate(session, f"room:{room_id}")


def _set_open_control(session: AsyncSession, room: Room, member: RoomMember, open_: bool) -> None:
    _require(room, member, "openControl")
    if room.open_control != open_:
        room.open_control = open_
        live_change(session, room.id, ControlSet(open_), by=member.user_id)


async def set_role(session: AsyncSession, user: User, room_id: int, target_id: int, role: str) -> None:
    """Make a member a moderator or a member again (host only). Stored, so it holds across reconnects."""
    _, member = await _member(session, room_id, user)
    target = await repository.get_member(session, room_id, target_id)
    why = policy.may_assign(member.role.value, target.role.value if target else None, role)
    if why is not None:
        raise NotAllowed(why) if not policy.allowed(member.role.value, "setRole") else InvalidRoleChange(why)
    assert target is not None
    if target.role.value != role:
        service.record(session, room_id, user.id, "role", target_id, {"from": target.role.value, "to": role})
        target.role = MemberRole(role)
        await session.flush()
        invalidate(session, f"room:{room_id}")
        live_change(session, room_id, RoleSet(target_id, role), by=user.id)


async def leave_room(session: AsyncSession, user: User, room_id: int) -> None:
    """Leave a room. A leaving host hands the room to the longest-standing moderator, else member, and the live
    room learns both at once: the new host can command without reconnecting."""
    room, _ = await _member(session, room_id, user)
    if room.host_id == user.id:
        successor = await repository.get_successor(session, room_id, user.id)
        if successor is not None:
            room.host_id = successor.user_id
            successor.role = MemberRole.HOST
            live_change(session, room_id, RoleSet(successor.user_id, MemberRole.HOST.value), by=user.id)
    await repository.delete_member(session, room_id, user.id)
    room.last_activity_at = utcnow()
    await session.flush()
    invalidate(session, "rooms", f"room:{room_id}")
    live_change(session, room_id, MemberGone(user.id), by=user.id)


async def delete_room(session: AsyncSession, user: User, room_id: int) -> None:
    """Delete a room with its members and messages (host): every socket on it closes with 4003."""
    room, member = await _member(session, room_id, user)
    _require(room, member, "deleteRoom")
    await session.delete(room)
    await session.flush()
    _room_gone(session, room_id)


def _room_gone(session: AsyncSession, room_id: int) -> None:
    invalidate(session, "rooms", f"room:{room_id}", f"chat:{room_id}")
    live_change(session, room_id, RoomGone())


async def remove_inactive_rooms(session: AsyncSession, before: datetime) -> list[int]:
    """The cleanup job's room deletions: rooms with no activity since `before`, closed live like any deletion."""
    removed = await repository.delete_rooms_inactive_since(session, before)
    for room_id in removed:
        _room_gone(session, room_id)
    return removed


async def remove_idle_members(session: AsyncSession, before: datetime) -> list[int]:
    """The cleanup job's member removals (non-host members of public rooms not seen since `before`); returns the
    rooms that lost members. Their sockets close with 4003, like any removal."""
    removed = await repository.delete_idle_members(session, before)
    rooms = sorted({room_id for room_id, _ in removed})
    for room_id, user_id in removed:
        live_change(session, room_id, MemberGone(user_id))
    invalidate(session, "rooms", *(f"room:{r}" for r in rooms))
    return rooms
