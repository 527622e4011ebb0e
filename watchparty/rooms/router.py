"""HTTP routes under /api/rooms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from watchparty.auth.deps import CurrentUser, OptionalUser
from watchparty.core.deps import AppServices, DbSession, services_of
from watchparty.core.responses import EncodedJSON
from watchparty.core.schemas import Envelope, Page, PageLimit, PageNumber, PageParams, RoomId
from watchparty.core.validators import SearchText
from watchparty.rooms import flows
from watchparty.rooms import service as rooms_service
from watchparty.rooms.schemas import (
    InviteIn,
    InviteRead,
    JoinIn,
    MemberRead,
    RoleIn,
    RoomCreate,
    RoomRead,
    RoomUpdate,
)

router = APIRouter(prefix="/rooms", tags=["rooms"])


@router.get("", response_model=Page[RoomRead])
async def list_rooms(
    request: Request,
    page: PageNumber = 1,
    limit: PageLimit = 10,
    q: Annotated[SearchText | None, Query(description="name contains")] = None,
) -> EncodedJSON:
    """Public rooms active recently, newest activity first, with host, movie and participant count."""
    # A hot read (ADR 0012): plain parameters, no sub-dependencies to solve
    paging = PageParams(page=page, limit=limit)
    return EncodedJSON(await rooms_service.list_rooms(services_of(request), paging, q))


@router.get("/{room_id}")
async def get_room(room_id: RoomId, user: OptionalUser, session: DbSession) -> Envelope[RoomRead]:
    """One room. Private rooms are visible to their members only."""
    return Envelope(data=await rooms_service.get_room(session, room_id, user))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_room(
    data: RoomCreate, user: CurrentUser, session: DbSession, services: AppServices
) -> Envelope[RoomRead]:
    """Create a room; its creator becomes its host."""
    return Envelope(data=await rooms_service.create_room(session, services, user, data))


@router.put("/{room_id}")
async def update_room(
    room_id: RoomId, data: RoomUpdate, user: CurrentUser, session: DbSession, services: AppServices
) -> Envelope[RoomRead]:
    """Change a room: its settings (host), its movie (host and moderators; every live viewer switches at once,
    from 0, paused) or open control (host)."""
    return Envelope(data=await flows.update_room(session, services, user, room_id, data))


@router.delete("/{room_id}")
async def delete_room(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[None]:
    """Delete a room with its members and messages (host only); its live sockets close with 4003."""
    await flows.delete_room(session, user, room_id)
    return Envelope(data=None)


@router.post("/{room_id}/join")
async def join_room(
    room_id: RoomId, user: CurrentUser, session: DbSession, services: AppServices, data: JoinIn | None = None
) -> Envelope[RoomRead]:
    """Join a room, with its password or an invite token where it needs one. Joining twice is harmless."""
    return Envelope(data=await rooms_service.join_room(session, services, user, room_id, data or JoinIn()))


@router.post("/{room_id}/leave")
async def leave_room(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[None]:
    """Leave a room. A leaving host hands the room on; the new host controls playback at once."""
    await flows.leave_room(session, user, room_id)
    return Envelope(data=None)


@router.post("/{room_id}/invite", status_code=status.HTTP_201_CREATED)
async def invite(
    room_id: RoomId, data: InviteIn, user: CurrentUser, session: DbSession, services: AppServices
) -> Envelope[InviteRead]:
    """Email someone a link that lets them join this room once (members only)."""
    return Envelope(data=await rooms_service.invite_to_room(session, services, user, room_id, data))


@router.get("/{room_id}/members")
async def list_members(room_id: RoomId, user: OptionalUser, session: DbSession) -> Envelope[list[MemberRead]]:
    """Who is in the room, with their roles."""
    return Envelope(data=await rooms_service.list_members(session, room_id, user))


@router.put("/{room_id}/members/{user_id}")
async def set_member_role(
    room_id: RoomId, user_id: RoomId, data: RoleIn, user: CurrentUser, session: DbSession
) -> Envelope[list[MemberRead]]:
    """Make a member a moderator, or a member again (host only). Stored: it holds across reconnects, and every
    live viewer sees it at once. Returns the member list."""
    await flows.set_role(session, user, room_id, user_id, data.role)
    return Envelope(data=await rooms_service.list_members(session, room_id, user))
