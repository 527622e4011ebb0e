"""Realtime routes: a ticket over HTTP, then the room's WebSocket; and sync telemetry for members and admins."""

from __future__ import annotations

from fastapi import APIRouter, Request, WebSocket, status

from watchparty.auth.deps import CurrentUser
from watchparty.core.deps import AppServices, DbSession, services_of
from watchparty.core.schemas import Envelope, RoomId
from watchparty.models import UserRole
from watchparty.rooms import service as rooms_service
from watchparty.sync import service, ws
from watchparty.sync.schemas import SkipVoteIn, SkipVotesRead, SyncStats, TicketRead

router = APIRouter(prefix="/rooms", tags=["realtime"])


@router.post("/{room_id}/ws-ticket", status_code=status.HTTP_201_CREATED)
async def ws_ticket(
    room_id: RoomId, user: CurrentUser, session: DbSession, services: AppServices, request: Request
) -> Envelope[TicketRead]:
    """A single-use ticket, valid for 30 s, to open WS /api/rooms/{id}/ws?ticket=… (members only)."""
    hub = getattr(request.app.state, "hub", None)
    redis = hub.redis if hub is not None else None
    return Envelope(data=await service.issue_ticket(session, services, redis, user, room_id))


@router.websocket("/{room_id}/ws")
async def room_socket(websocket: WebSocket, room_id: int, ticket: str | None = None) -> None:
    """The room's live channel; the protocol is in docs/protocol.md."""
    hub = getattr(websocket.app.state, "hub", None)
    if hub is None:
        await websocket.close(code=1011)
        return
    await ws.run(websocket, services_of(websocket), hub, room_id, ticket)


@router.get("/{room_id}/sync-stats")
async def sync_stats(room_id: RoomId, user: CurrentUser, session: DbSession, request: Request) -> Envelope[SyncStats]:
    """Skew between the room's viewers, from their latest position reports: p50, p95 and max in ms, and each
    viewer's own figures (the web client shows them as sync status). Members of the room and admins."""
    if user.role != UserRole.ADMIN:
        await rooms_service.member_room(session, room_id, user)
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        raise service.RealtimeUnavailable()
    return Envelope(data=SyncStats.model_validate(await hub.skew(room_id)))


@router.put("/{room_id}/playlist/skip-vote")
async def vote_skip(
    room_id: RoomId, data: SkipVoteIn, user: CurrentUser, session: DbSession, request: Request
) -> Envelope[SkipVotesRead]:
    """Vote to skip the playing item, or take the vote back (the socket's `voteSkip`). Votes count only while the
    voter is in the room (connected, not away): 409 `not_present` otherwise, 409 `not_playing` for another item.
    Reaching `needed` skips it at once, for everyone. Returns the skip votes after the vote."""
    hub = getattr(request.app.state, "hub", None)
    votes = await service.vote_skip(session, hub, user, room_id, data.item_id, data.vote)
    return Envelope(data=SkipVotesRead.model_validate(votes))
