"""WebSocket tickets, who may hold a socket on a room, and the live room's link to its durable facts."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.clock import epoch_ms
from watchparty.core.deps import Services
from watchparty.core.errors import AppError
from watchparty.core.security import hash_token
from watchparty.models import User
from watchparty.rooms import playlist, playlist_flows, policy
from watchparty.rooms import service as rooms_service
from watchparty.rooms.errors import NotAllowed
from watchparty.sync import engine, protocol
from watchparty.sync.schemas import TicketRead

if TYPE_CHECKING:
    from watchparty.sync.hub import Hub

TICKET_SECONDS = 30


class RealtimeUnavailable(AppError):
    status_code = 503
    code = "realtime_unavailable"
    message = "Realtime rooms need Redis, which is not reachable right now"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class NotPresent(AppError):
    status_code = 409
    code = "not_present"
    message = "Only viewers in the room count for a vote-skip: open the room, then vote"


class NotPlaying(AppError):
    status_code = 409
    code = "not_playing"
    message = "That item is not the one playing"


async def vote_skip(
    session: AsyncSession, hub: Hub | None, user: User, room_id: int, item_id: int, vote: bool
) -> dict[str, Any]:
    """A skip vote over REST (the same as the socket's `voteSkip`): it counts only while the voter is present in the
    live room. Returns the skip votes after it (or the new item's, if it skipped)."""
    _, member = await rooms_service.member_room(session, room_id, user)
    if hub is None:
        raise RealtimeUnavailable()
    if not policy.allowed(member.role.value, "voteSkip"):
        raise NotAllowed()
    try:
        events = await hub.apply(room_id, engine.VoteSkip(user.id, item_id, vote))
    except Exception as exc:
        raise RealtimeUnavailable() from exc
    for event in events:
        if isinstance(event, engine.Rejected) and event.user_id == user.id:
            raise NotPresent() if event.reason == "forbidden" else NotPlaying()
    state, _ = await hub.snapshot(room_id)
    voters = engine.skip_voters(state)
    needed = playlist.skips_needed(len(voters), state.skip_ratio)
    playing = state.playback.item_id if state.playback.item_id is not None else item_id
    return protocol.skip_votes(playing, state.skip_votes & set(voters), needed)


def _ticket_key(services: Services, ticket: str) -> str:
    return f"{services.settings.key_prefix}:wsticket:{hash_token(ticket)}"


async def issue_ticket(
    session: AsyncSession, services: Services, redis: aioredis.Redis | None, user: User, room_id: int
) -> TicketRead:
    """A single-use ticket for one member and one room, valid for 30 s; only its hash is stored. `redis` is the
    realtime hub's client (seconds of patience), not the cache's (50 ms): a join storm must not refuse tickets."""
    await rooms_service.member_room(session, room_id, user)
    if redis is None:
        raise RealtimeUnavailable()
    ticket = secrets.token_urlsafe(24)
    try:
        await redis.set(_ticket_key(services, ticket), f"{room_id}:{user.id}", ex=TICKET_SECONDS)
    except Exception as exc:
        raise RealtimeUnavailable() from exc
    return TicketRead(ticket=ticket, expires_in=TICKET_SECONDS)


async def redeem_ticket(services: Services, redis: aioredis.Redis, room_id: int, ticket: str) -> int | None:
    """The user the ticket was issued to, if it is for this room and not used or expired. Using it ends it."""
    if not ticket or len(ticket) > 100:
        return None
    try:
        value = await redis.getdel(_ticket_key(services, ticket))
    except Exception:
        return None
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    ticket_room, _, user_id = text.partition(":")
    return int(user_id) if ticket_room == str(room_id) else None


async def member_role(session: AsyncSession, room_id: int, user_id: int) -> str | None:
    """The user's role in the room, or None if they are not a member (or the room is gone)."""
    return await rooms_service.role_of(session, room_id, user_id)


async def muted(session: AsyncSession, room_id: int, user_id: int) -> dict[str, Any] | None:
    """The mute in force on this person as `welcome.muted` carries it, or None."""
    mute = await rooms_service.mute_of(session, room_id, user_id)
    if mute is None:
        return None
    until = None if mute.expires_at is None else epoch_ms(mute.expires_at)
    return {"until": until, "reason": mute.reason}


async def load_live_room(services: Services, room_id: int, now: float) -> engine.RoomState | None:
    """The live room derived from the database (ADR 0014), or None if the room is gone: its media and duration,
    open control, and the last commanded playback, paused where it is now (a room that was playing is paused at
    the position it has reached, never past the end)."""
    async with services.db.session() as session:
        facts = await rooms_service.live_facts(session, room_id)
    if facts is None:
        return None
    position = facts.position
    if not facts.paused and facts.anchor is not None:
        position += max(0.0, now - facts.anchor.timestamp()) * facts.rate
    playback = engine.Playback(
        media_id=facts.media_id,
        position=0.0,
        anchor=now,
        rate=facts.rate,
        paused=True,
        duration=facts.duration,
        item_id=facts.item_id,
    )
    playback = replace(playback, position=playback.clamp(position))
    after = None if facts.after is None else engine.Item(*facts.after)
    return engine.RoomState(
        playback=playback,
        open_control=facts.open_control,
        after=after,
        queue_version=facts.playlist_version,
        skip_ratio=facts.skip_ratio,
        members_add=facts.members_add,
    )


async def store_playback(services: Services, room_id: int, playback: engine.Playback) -> None:
    """Record the playback a command, the end of the media, or a move to another item set, for the next rebuild;
    a move to another item (the end of one, a vote-skip) is the playlist's too (ADR 0015)."""
    async with services.db.session() as session:
        if playback.item_id is not None:
            await playlist_flows.advanced(session, room_id, playback.item_id)
        await rooms_service.record_playback(
            session,
            room_id,
            position=playback.position,
            rate=playback.rate,
            paused=playback.paused,
            anchor=datetime.fromtimestamp(playback.anchor, UTC),
        )
