"""Room use cases and the rules on who may see, join and run a room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.clock import iso_z, utcnow
from watchparty.core.deps import Services
from watchparty.core.responses import encode_json
from watchparty.core.schemas import PageParams, pagination
from watchparty.core.security import Caller, hash_token, new_opaque_token
from watchparty.mail import service as mail_service
from watchparty.mail import templates
from watchparty.models import (
    Invite,
    MemberRole,
    ModerationEntry,
    PlaylistItem,
    Room,
    RoomMember,
    RoomSanction,
    RoomVisibility,
    User,
)
from watchparty.movies import service as movies_service
from watchparty.rooms import playlist, repository
from watchparty.rooms.errors import (
    Banned,
    GuestsNotAllowed,
    InvalidInvite,
    InviteExpired,
    InviteUsed,
    Muted,
    NotRoomHost,
    NotRoomMember,
    RoomFull,
    RoomNotFound,
    WrongRoomPassword,
)
from watchparty.rooms.schemas import InviteIn, InviteRead, JoinIn, MemberRead, MyRoomRead, RoomCreate, RoomRead
from watchparty.users import service as users_service

ACTIVITY_RESOLUTION = timedelta(minutes=1)


async def list_rooms(services: Services, page: PageParams, q: str | None) -> bytes:
    """Public rooms active within the configured window, newest activity first: a `Page[RoomRead]`, encoded.

    A hot read (ADR 0012): one statement on an autocommit connection, rows encoded straight to JSON."""
    since = utcnow() - timedelta(days=services.settings.rooms_active_days)
    async with services.db.read() as conn:
        rows, total = await repository.page_of_public_rooms(
            conn, since=since, q=q, offset=page.offset, limit=page.limit
        )
    return encode_json({"success": True, "data": [room_json(r) for r in rows], "pagination": pagination(page, total)})


async def my_rooms(session: AsyncSession, user: User, limit: int) -> list[MyRoomRead]:
    """The caller's rooms, most recently visited first: hosts, moderators, members and guests alike."""
    rows = await repository.rooms_of(session, user.id, limit)
    return [MyRoomRead(room=_to_read(row), role=row.my_role, last_seen_at=row.my_last_seen_at) for row in rows]


async def get_room(session: AsyncSession, room_id: int, user: User | None) -> RoomRead:
    await visible_room(session, room_id, user)
    return await _read(session, room_id)


async def create_room(session: AsyncSession, services: Services, user: User, data: RoomCreate) -> RoomRead:
    if data.movie_id is not None:
        movies_service.require_playable(await movies_service.get_movie(session, data.movie_id))
    room = Room(
        name=data.name,
        description=data.description,
        visibility=data.visibility,
        capacity=data.capacity,
        host_id=user.id,
        password_hash=await services.hasher.hash(data.password) if data.password else None,
        guests_allowed=data.visibility != RoomVisibility.PRIVATE
        if data.guests_allowed is None
        else data.guests_allowed,
    )
    session.add(room)
    await session.flush()
    session.add(RoomMember(room_id=room.id, user_id=user.id, role=MemberRole.HOST))
    if data.movie_id is not None:  # the room's first playlist item, playing
        item = PlaylistItem(room_id=room.id, movie_id=data.movie_id, added_by=user.id, position=0)
        session.add(item)
        await session.flush()
        play_item(room, item)
    await session.flush()
    invalidate(session, "rooms")
    return await _read(session, room.id)


async def join_room(
    session: AsyncSession, services: Services, user: User, room_id: int, data: JoinIn, *, ip: str | None = None
) -> RoomRead:
    """Join a room: public rooms need nothing, passworded ones their password, private ones a password or invite.
    Guests only where the room lets them in; nobody banned (ADR 0016)."""
    room = await repository.get_room(session, room_id, for_update=True)  # serialises joins on capacity
    if room is None:
        raise RoomNotFound()
    member = await repository.get_member(session, room_id, user.id)
    if member is None:
        await refuse_banned(session, room_id, user, ip)
        if user.is_guest and not room.guests_allowed:
            raise RoomNotFound() if room.visibility == RoomVisibility.PRIVATE else GuestsNotAllowed()
        await _check_admission(session, services, room, user, data, ip)
        if await repository.count_members(session, room_id) >= room.capacity:
            raise RoomFull.of(room.capacity)
        role = MemberRole.HOST if room.host_id == user.id else MemberRole.GUEST if user.is_guest else MemberRole.MEMBER
        session.add(RoomMember(room_id=room_id, user_id=user.id, role=role))
    else:
        member.last_seen_at = utcnow()
    room.last_activity_at = utcnow()
    await session.flush()
    invalidate(session, "rooms", f"room:{room_id}")
    return await _read(session, room_id)


async def invite_to_room(
    session: AsyncSession, services: Services, user: User, room_id: int, data: InviteIn
) -> InviteRead:
    """Email an invite link that admits its holder once, even to a private room."""
    settings = services.settings
    await services.limiter.hit(settings.rate_limit_invite, "invite", str(user.id))
    room, _ = await member_room(session, room_id, user)
    token = new_opaque_token()
    invite = Invite(
        room_id=room.id,
        created_by=user.id,
        email=str(data.email).lower(),
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(days=settings.invite_token_days),
    )
    session.add(invite)
    await session.flush()
    link = f"{settings.base_url}/invite/{token}?room={room.id}"
    message = templates.room_invite(user.username, room.name, link, settings.invite_token_days)
    # in the inviter's language: the one person whose language is known, and most often the friend's too
    job_id = await mail_service.send(session, settings, invite.email, message, owner_id=user.id, language=user.language)
    return InviteRead(id=invite.id, email=invite.email, expires_at=invite.expires_at, job_id=job_id)


async def list_members(session: AsyncSession, room_id: int, user: User | None) -> list[MemberRead]:
    await readable_room(session, room_id, user)
    rows = await repository.list_members(session, room_id)
    return [
        MemberRead(
            user=users_service.to_public(m.user_id, username, avatars),
            role=m.role,
            joined_at=m.joined_at,
            last_seen_at=m.last_seen_at,
        )
        for m, username, avatars in rows
    ]


def _hidden(visibility: RoomVisibility, is_member: bool) -> bool:
    """A private room is not there for a non-member (404), admins included."""
    return visibility == RoomVisibility.PRIVATE and not is_member


def _may_read(open_to_read: bool, is_member: bool) -> bool:
    """The chat and the members: anyone in a room open to read (public, no password), members otherwise."""
    return open_to_read or is_member


async def view_scope(conn: AsyncConnection | AsyncSession, room_id: int, user: Caller | None) -> str | None:
    """Who shares what get_room shows this caller: "public" or "unlisted" (anyone), "members", or None (no access).
    Used to authorise before a cache read: one statement (ADR 0012)."""
    row = await repository.access_of(conn, room_id, user.id if user else None)
    if row is None:
        return None
    visibility = RoomVisibility(row["visibility"])
    if _hidden(visibility, bool(row["is_member"])):
        return None
    return "members" if visibility == RoomVisibility.PRIVATE else visibility.value


async def chat_scope(conn: AsyncConnection | AsyncSession, room_id: int, user: Caller | None) -> str | None:
    """Like view_scope, for the chat history: "public" (anyone) or "members", or None."""
    row = await repository.access_of(conn, room_id, user.id if user else None)
    if row is None:
        return None
    is_member = bool(row["is_member"])
    if _hidden(RoomVisibility(row["visibility"]), is_member) or not _may_read(bool(row["open_to_read"]), is_member):
        return None
    return "public" if row["open_to_read"] else "members"


async def room_body(services: Services, room_id: int, user: Caller | None) -> bytes | None:
    """One room as `Envelope[RoomRead]`, encoded, for a caller who may see it; None when there is no such room for
    them (404). A hot read (ADR 0012): one statement that checks access too, rows encoded straight to JSON."""
    async with services.db.read() as conn:
        row = await repository.seen_room_view(conn, room_id, user.id if user else None)
    return None if row is None else encode_json({"success": True, "data": room_json(row)})


def touch_activity(session: AsyncSession, room: Room) -> None:
    """Mark a room active. Stored at minute resolution, so chat does not invalidate the room list per message."""
    now = utcnow()
    if now - room.last_activity_at >= ACTIVITY_RESOLUTION:
        room.last_activity_at = now
        invalidate(session, "rooms", f"room:{room.id}")


async def visible_room(
    session: AsyncSession, room_id: int, user: User | None, *, for_update: bool = False
) -> tuple[Room, RoomMember | None]:
    """The room if this caller may know it exists: private rooms are 404 to non-members, admins included.
    `for_update` locks the room's row until the unit of work ends (serialising the playlist's operations)."""
    room = await repository.get_room(session, room_id, for_update=for_update)
    if room is None:
        raise RoomNotFound()
    member = await repository.get_member(session, room_id, user.id) if user is not None else None
    if _hidden(room.visibility, member is not None):
        raise RoomNotFound()
    return room, member


async def member_room(
    session: AsyncSession, room_id: int, user: User, *, for_update: bool = False
) -> tuple[Room, RoomMember]:
    """The room and the caller's membership; 403 for non-members of rooms they can see."""
    room, member = await visible_room(session, room_id, user, for_update=for_update)
    if member is None:
        raise NotRoomMember()
    return room, member


async def role_of(session: AsyncSession, room_id: int, user_id: int) -> str | None:
    """A member's role ("host", "moderator", "member"), or None for a non-member."""
    member = await repository.get_member(session, room_id, user_id)
    return None if member is None else member.role.value


async def readable_room(session: AsyncSession, room_id: int, user: User | None) -> Room:
    """A room whose chat and members the caller may read: anyone for a room open to read (public, no password),
    members otherwise."""
    room, member = await visible_room(session, room_id, user)
    if not _may_read(room.open_to_read, member is not None):
        raise NotRoomMember()
    return room


async def hosted_room(session: AsyncSession, room_id: int, user: User) -> Room:
    room, _ = await visible_room(session, room_id, user)
    if room.host_id != user.id:
        raise NotRoomHost()
    return room


@dataclass(frozen=True)
class LiveFacts:
    """What the live room is derived from (ADR 0014): the media with its duration, open control, and the last
    playback a command set, anchored at a moment (None: never played)."""

    media_id: int | None
    duration: float | None
    open_control: bool
    position: float
    rate: float
    paused: bool
    anchor: datetime | None
    item_id: int | None = None
    playlist_version: int = 0
    skip_ratio: float = 0.5
    members_add: bool = False
    after: tuple[int, int, float | None] | None = None  # (item, movie, duration) that plays when this one ends


async def live_facts(session: AsyncSession, room_id: int) -> LiveFacts | None:
    """The durable facts of a room's live state, or None if the room is gone."""
    row = await repository.get_live_facts(session, room_id)
    if row is None:
        return None
    duration = float(row.duration_seconds) if row.duration_seconds else None
    items = await repository.list_items(session, room_id)
    order = [item.id for item, _ in items]
    current = row.current_item_id if row.current_item_id in order else None
    after_id = playlist.after(order, current, row.playlist_loop)
    after = next(((i.id, i.movie_id, float(d) if d else None) for i, d in items if i.id == after_id), None)
    return LiveFacts(
        media_id=row.movie_id,
        duration=duration,
        open_control=bool(row.open_control),
        position=float(row.playback_position),
        rate=float(row.playback_rate),
        paused=bool(row.playback_paused),
        anchor=row.playback_anchor,
        item_id=current,
        playlist_version=int(row.playlist_version),
        skip_ratio=float(row.skip_ratio),
        members_add=bool(row.members_add),
        after=after,
    )


async def record_playback(
    session: AsyncSession, room_id: int, *, position: float, rate: float, paused: bool, anchor: datetime
) -> None:
    """Store the playback a command (or the end of the media) set. A write anchored earlier than the stored one
    is dropped, so two processes writing in the wrong order keep the newer."""
    await repository.set_playback(session, room_id, position=position, rate=rate, paused=paused, anchor=anchor)


def reset_playback(room: Room) -> None:
    """New media starts from 0, paused, at rate 1."""
    room.playback_position, room.playback_rate, room.playback_paused, room.playback_anchor = 0.0, 1.0, True, None


def play_item(room: Room, item: PlaylistItem | None, *, reset: bool = True) -> None:
    """The room plays this playlist item (None: nothing), from 0 (`reset`; else the caller records the playback the
    live room chose). The one place that sets the room's movie: it is always the current item's (ADR 0015)."""
    room.current_item_id = None if item is None else item.id
    room.movie_id = None if item is None else item.movie_id
    if reset:
        reset_playback(room)


async def _check_admission(
    session: AsyncSession, services: Services, room: Room, user: User, data: JoinIn, ip: str | None
) -> None:
    if data.invite_token:
        invite = await repository.get_invite_by_hash(session, hash_token(data.invite_token))
        now = utcnow()
        if invite is None or invite.room_id != room.id:  # a private room's existence is not confirmed by a guess
            raise RoomNotFound() if room.visibility == RoomVisibility.PRIVATE else InvalidInvite()
        # a real invite of this room: its holder knows the room, and is told what is wrong with the invite
        if invite.used_at is not None:
            raise InviteUsed(details=[{"usedAt": iso_z(invite.used_at)}])
        if invite.expires_at <= now:
            raise InviteExpired(details=[{"expiredAt": iso_z(invite.expires_at)}])
        invite.used_at, invite.used_by = now, user.id
        return
    if room.password_hash is not None and data.password:  # each guess is an argon2 verification: limited
        settings = services.settings
        await services.limiter.hit(settings.rate_limit_room_password, "room-password", f"{room.id}:{ip or '-'}")
        await services.limiter.hit(settings.rate_limit_room_password_room, "room-password-room", str(room.id))
    password_ok = room.password_hash is not None and await services.hasher.verify(
        data.password or "", room.password_hash
    )
    if room.visibility == RoomVisibility.PRIVATE:
        if not password_ok:
            raise RoomNotFound()  # a private room's existence is not confirmed to outsiders
    elif room.password_hash is not None and not password_ok:
        raise WrongRoomPassword()


async def _read(session: AsyncSession, room_id: int) -> RoomRead:
    row = await repository.get_room_view(session, room_id)
    if row is None:
        raise RoomNotFound()
    return _to_read(row)


def _to_read(row: Row[Any]) -> RoomRead:
    return RoomRead.model_validate(room_json(row._mapping))


def room_json(row: RowMapping) -> dict[str, Any]:
    """A room view row (repository._VIEW) as RoomRead's wire form; the one place that maps the row to the shape."""
    movie = movies_service.summary_json(row) if row["movie_id"] is not None else None
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "visibility": row["visibility"],
        "hasPassword": bool(row["has_password"]),
        "capacity": row["capacity"],
        "participantCount": int(row["participant_count"]),
        "host": users_service.public_json(row["host_id"], row["host_username"], row["host_avatar_urls"]),
        "movie": movie,
        "openControl": bool(row["open_control"]),
        "guestsAllowed": bool(row["guests_allowed"]),
        "slowModeSeconds": int(row["slow_mode_seconds"]),
        "subtitleLanguage": row["subtitle_language"],
        "lastActivityAt": row["last_activity_at"],
        "createdAt": row["created_at"],
    }


# ---- moderation (ADR 0016): what the other domains and the socket ask -------------------------------------------


async def refuse_banned(session: AsyncSession, room_id: int, user: User, ip: str | None = None) -> None:
    """Banned: 403 `banned`, saying until when. A guest is banned too by a ban of another guest from the same device
    or the same address (a new guest identity is free; an account is not)."""
    ban = await repository.sanction_in_force(session, room_id, user.id, "ban", utcnow())
    if ban is None and user.is_guest:
        ban = await repository.guest_ban_in_force(session, room_id, user.device_hash, ip, utcnow())
    if ban is not None:
        raise Banned(_until("You are banned from this room", ban), details=[_sanction_detail(ban)])


async def mute_of(session: AsyncSession, room_id: int, user_id: int) -> RoomSanction | None:
    """The mute in force on this person here, if any."""
    return await repository.sanction_in_force(session, room_id, user_id, "mute", utcnow())


async def refuse_muted(session: AsyncSession, room_id: int, user_id: int) -> None:
    """Muted: 403 `muted`, saying until when (chat over REST and the socket asks this before storing)."""
    mute = await mute_of(session, room_id, user_id)
    if mute is not None:
        raise Muted(_until("You are muted in this room", mute), details=[_sanction_detail(mute)])


def _until(text: str, sanction: RoomSanction) -> str:
    if sanction.expires_at is None:
        return f"{text} until a moderator lifts it"
    return f"{text} until {sanction.expires_at:%Y-%m-%d %H:%M} UTC"


def _sanction_detail(sanction: RoomSanction) -> dict[str, Any]:
    return {"until": iso_z(sanction.expires_at), "reason": sanction.reason}


def record(
    session: AsyncSession,
    room_id: int,
    actor_id: int | None,
    action: str,
    target_id: int | None,
    details: dict[str, Any] | None = None,
) -> ModerationEntry:
    """Write one entry in the room's moderation log (the flows call this for every moderator action)."""
    entry = ModerationEntry(
        room_id=room_id, actor_id=actor_id, action=action, target_id=target_id, details=details or {}
    )
    session.add(entry)
    return entry
