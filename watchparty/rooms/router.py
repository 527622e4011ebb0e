"""HTTP routes under /api/rooms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from watchparty.auth.deps import AccountUser, CurrentUser, OptionalUser
from watchparty.core.deps import AppServices, ClientIp, DbSession, services_of
from watchparty.core.responses import EncodedJSON
from watchparty.core.schemas import Envelope, Page, PageLimit, PageNumber, PageParams, RoomId
from watchparty.core.validators import SearchText
from watchparty.rooms import flows, moderation_flows, playlist_flows
from watchparty.rooms import service as rooms_service
from watchparty.rooms.errors import RoomNotFound
from watchparty.rooms.schemas import (
    Based,
    ChatRulesIn,
    ChatRulesRead,
    FilterTestIn,
    FilterTestRead,
    HostIn,
    ImportRead,
    InviteIn,
    InviteRead,
    ItemAdd,
    ItemMove,
    JoinIn,
    KickIn,
    MemberRead,
    ModerationEntryRead,
    MyRoomRead,
    PlaylistImport,
    PlaylistRead,
    PlaylistUpdate,
    RoleIn,
    RoomCreate,
    RoomRead,
    RoomUpdate,
    SanctionIn,
    SanctionRead,
    VoteIn,
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


@router.get("/mine")
async def my_rooms(
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many rooms")] = 50,
) -> Envelope[list[MyRoomRead]]:
    """The caller's rooms (host of, member of, guest in), the one they last joined or wrote in first: the front
    page's "Your rooms". Private rooms included: the caller is their member."""
    return Envelope(data=await rooms_service.my_rooms(session, user, limit))


@router.get("/{room_id}", response_model=Envelope[RoomRead])
async def get_room(room_id: RoomId, user: OptionalUser, services: AppServices) -> EncodedJSON:
    """One room. Private rooms are visible to their members only."""
    body = await rooms_service.room_body(services, room_id, user)  # a hot read (ADR 0012)
    if body is None:
        raise RoomNotFound()
    return EncodedJSON(body)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_room(
    data: RoomCreate, user: AccountUser, session: DbSession, services: AppServices
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
    room_id: RoomId,
    user: CurrentUser,
    session: DbSession,
    services: AppServices,
    ip: ClientIp,
    data: JoinIn | None = None,
) -> Envelope[RoomRead]:
    """Join a room, with its password or an invite token where it needs one. Joining twice is harmless. A guest
    joins rooms that let guests in (`guestsAllowed`), as a guest; nobody banned joins (403 `banned`), and a ban of
    a guest also refuses new guests from the same device or address."""
    joined = await rooms_service.join_room(session, services, user, room_id, data or JoinIn(), ip=ip)
    return Envelope(data=joined)


@router.post("/{room_id}/leave")
async def leave_room(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[None]:
    """Leave a room. A leaving host hands the room on; the new host controls playback at once."""
    await flows.leave_room(session, user, room_id)
    return Envelope(data=None)


@router.post("/{room_id}/invite", status_code=status.HTTP_201_CREATED)
async def invite(
    room_id: RoomId, data: InviteIn, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[InviteRead]:
    """Email someone a link that lets them join this room once (members only)."""
    return Envelope(data=await rooms_service.invite_to_room(session, services, user, room_id, data))


@router.get("/{room_id}/members")
async def list_members(room_id: RoomId, user: OptionalUser, session: DbSession) -> Envelope[list[MemberRead]]:
    """Who is in the room, with their roles. Public rooms without a password: anyone; other rooms: members (403)."""
    return Envelope(data=await rooms_service.list_members(session, room_id, user))


@router.put("/{room_id}/members/{user_id}")
async def set_member_role(
    room_id: RoomId, user_id: RoomId, data: RoleIn, user: CurrentUser, session: DbSession
) -> Envelope[list[MemberRead]]:
    """Make a member a moderator, or a member again (host only). Stored: it holds across reconnects, and every
    live viewer sees it at once. Returns the member list."""
    await flows.set_role(session, user, room_id, user_id, data.role)
    return Envelope(data=await rooms_service.list_members(session, room_id, user))


# ---- the playlist (ADR 0015): every change is also a socket message; each is told to every live viewer ------------

_STALE: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`stale_playlist`: based on another version; nothing changed, and `error.details[0].playlist`"
        " is the current list. Also `playlist_conflict`, `playlist_full`, `queue_cap_reached` (docs/protocol.md)."
    }
}


@router.get("/{room_id}/playlist")
async def get_playlist(room_id: RoomId, user: OptionalUser, session: DbSession) -> Envelope[PlaylistRead]:
    """The room's playlist: the items in order, the version, the mode, loop, the playing item and its index, and
    the room's playlist rules. Cached like the room; every operation makes it stale."""
    return Envelope(data=PlaylistRead.model_validate(await playlist_flows.get_playlist(session, room_id, user)))


@router.post("/{room_id}/playlist/items", status_code=status.HTTP_201_CREATED, responses=_STALE)
async def add_item(room_id: RoomId, data: ItemAdd, user: CurrentUser, session: DbSession) -> Envelope[PlaylistRead]:
    """Add a catalogue movie (`movieId`) or a media URL (`url`, added to the catalogue), at the end or next.
    Members may add when the room lets them (`membersAdd`), up to `queueCap` items still to come each; a room
    holds at most 500 items. An item added while nothing plays becomes the playing one, paused."""
    return _listing(await playlist_flows.add_item(session, user, room_id, data))


@router.post("/{room_id}/playlist/import", responses=_STALE)
async def import_items(
    room_id: RoomId, data: PlaylistImport, user: CurrentUser, session: DbSession
) -> Envelope[ImportRead]:
    """Add up to 200 media URLs in one operation: `text` with one URL per line, or `items` with url and title.
    Each bad line is reported in `errors` (its 1-based number and why), and the good ones are added."""
    result = await playlist_flows.import_items(session, user, room_id, data)
    return Envelope(
        data=ImportRead.model_validate({"added": result.added, "errors": result.errors, "playlist": result.playlist})
    )


@router.delete("/{room_id}/playlist/items/{item_id}", responses=_STALE)
async def remove_item(
    room_id: RoomId,
    item_id: RoomId,
    user: CurrentUser,
    session: DbSession,
    base_version: Annotated[int, Query(alias="baseVersion", ge=0, le=2**31 - 1)],
) -> Envelope[PlaylistRead]:
    """Remove an item: the host and moderators any, a member their own. Removing the playing item moves the room
    on to the next one."""
    return _listing(await playlist_flows.remove_item(session, user, room_id, item_id, base_version))


@router.put("/{room_id}/playlist/items/{item_id}/position", responses=_STALE)
async def move_item(
    room_id: RoomId, item_id: RoomId, data: ItemMove, user: CurrentUser, session: DbSession
) -> Envelope[PlaylistRead]:
    """Move an item to a 0-based index (the host and moderators; manual mode only)."""
    return _listing(await playlist_flows.move_item(session, user, room_id, item_id, data.index, data.base_version))


@router.put("/{room_id}/playlist/items/{item_id}/vote")
async def vote_item(
    room_id: RoomId, item_id: RoomId, data: VoteIn, user: CurrentUser, session: DbSession
) -> Envelope[PlaylistRead]:
    """Vote an item still to come up, or take the vote back (vote mode). A vote names no version: setting one's
    own vote cannot conflict."""
    return _listing(await playlist_flows.vote(session, user, room_id, item_id, data.up))


@router.post("/{room_id}/playlist/items/{item_id}/play", responses=_STALE)
async def play_item(
    room_id: RoomId, item_id: RoomId, data: Based, user: CurrentUser, session: DbSession
) -> Envelope[PlaylistRead]:
    """Jump to an item (whoever may control playback): it plays from 0, playing if the room was."""
    return _listing(await playlist_flows.play(session, user, room_id, item_id, data.base_version))


@router.post("/{room_id}/playlist/next", responses=_STALE)
async def next_item(room_id: RoomId, data: Based, user: CurrentUser, session: DbSession) -> Envelope[PlaylistRead]:
    """Move to the next item (whoever may control playback), wrapping round when the list loops."""
    return _listing(await playlist_flows.step(session, user, room_id, "next", data.base_version))


@router.post("/{room_id}/playlist/previous", responses=_STALE)
async def previous_item(room_id: RoomId, data: Based, user: CurrentUser, session: DbSession) -> Envelope[PlaylistRead]:
    """Move to the item before (at the first one: the last when the list loops, else the first from its start)."""
    return _listing(await playlist_flows.step(session, user, room_id, "previous", data.base_version))


@router.post("/{room_id}/playlist/clear", responses=_STALE)
async def clear_playlist(room_id: RoomId, data: Based, user: CurrentUser, session: DbSession) -> Envelope[PlaylistRead]:
    """Remove every item but the playing one (the host and moderators)."""
    return _listing(await playlist_flows.clear(session, user, room_id, data.base_version))


@router.post("/{room_id}/playlist/shuffle", responses=_STALE)
async def shuffle_playlist(
    room_id: RoomId, data: Based, user: CurrentUser, session: DbSession
) -> Envelope[PlaylistRead]:
    """Put the items still to come in a random order (the host and moderators; manual mode only)."""
    return _listing(await playlist_flows.shuffle(session, user, room_id, data.base_version))


@router.put("/{room_id}/playlist", responses=_STALE)
async def update_playlist(
    room_id: RoomId, data: PlaylistUpdate, user: CurrentUser, session: DbSession
) -> Envelope[PlaylistRead]:
    """Change the mode or loop (the host and moderators), or the room's rules: membersAdd, skipRatio, queueCap
    (the host). Switching to vote mode orders the items still to come by their votes."""
    return _listing(await playlist_flows.update_settings(session, user, room_id, data))


# ---- moderation (ADR 0016): each action is logged, and the log can undo it --------------------------------------

_MODERATE: dict[int | str, dict[str, Any]] = {
    403: {"description": "`not_allowed` (your role), or `cannot_moderate`: yourself, the host, a site administrator, "
          "or a moderator when you are not the host; the message says which"},
    404: {"description": "`member_not_found`, `user_not_found`, `not_sanctioned` (nothing to lift)"},
}  # fmt: skip


@router.post("/{room_id}/members/{user_id}/kick", responses=_MODERATE)
async def kick_member(
    room_id: RoomId, user_id: RoomId, user: CurrentUser, session: DbSession, data: KickIn | None = None
) -> Envelope[ModerationEntryRead]:
    """Remove a member (host and moderators): each of their sockets in the room is told `kicked` and closed with
    4003, on every process. They may join again; a ban keeps them out. Returns the log entry."""
    return Envelope(data=await moderation_flows.kick(session, user, room_id, user_id, data or KickIn()))


@router.post("/{room_id}/bans", status_code=status.HTTP_201_CREATED, responses=_MODERATE)
async def ban(
    room_id: RoomId, data: SanctionIn, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Ban an account from the room, for `durationSeconds` or until lifted (host and moderators). A member is
    removed at once; nobody banned joins again (403 `banned`), by password, invite or ticket. Returns the log
    entry."""
    return Envelope(data=await moderation_flows.ban(session, user, room_id, data))


@router.get("/{room_id}/bans")
async def list_bans(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[list[SanctionRead]]:
    """The bans in force (host and moderators)."""
    return Envelope(data=await moderation_flows.sanctions(session, user, room_id, "ban"))


@router.delete("/{room_id}/bans/{user_id}", responses=_MODERATE)
async def lift_ban(
    room_id: RoomId, user_id: RoomId, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Lift a ban (host and moderators). The person may join again."""
    return Envelope(data=await moderation_flows.lift(session, user, room_id, "ban", user_id))


@router.post("/{room_id}/mutes", status_code=status.HTTP_201_CREATED, responses=_MODERATE)
async def mute(
    room_id: RoomId, data: SanctionIn, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Mute a person's chat, for `durationSeconds` or until lifted (host and moderators): their messages are
    refused (403 `muted`, over the socket an `error` `muted`) on every process. They still watch."""
    return Envelope(data=await moderation_flows.mute(session, user, room_id, data))


@router.get("/{room_id}/mutes")
async def list_mutes(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[list[SanctionRead]]:
    """The mutes in force (host and moderators)."""
    return Envelope(data=await moderation_flows.sanctions(session, user, room_id, "mute"))


@router.delete("/{room_id}/mutes/{user_id}", responses=_MODERATE)
async def lift_mute(
    room_id: RoomId, user_id: RoomId, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Lift a mute (host and moderators)."""
    return Envelope(data=await moderation_flows.lift(session, user, room_id, "mute", user_id))


@router.put("/{room_id}/host", responses=_MODERATE)
async def hand_over(
    room_id: RoomId, data: HostIn, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Make another member the host (host only); the host becomes a moderator. Every live viewer sees both role
    changes at once."""
    return Envelope(data=await moderation_flows.hand_over(session, user, room_id, data))


@router.get("/{room_id}/chat-rules")
async def get_chat_rules(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[ChatRulesRead]:
    """Slow mode and the word filter (host and moderators; everyone sees `slowModeSeconds` on the room)."""
    return Envelope(data=await moderation_flows.chat_rules_of(session, user, room_id))


@router.put("/{room_id}/chat-rules")
async def set_chat_rules(
    room_id: RoomId, data: ChatRulesIn, user: CurrentUser, session: DbSession
) -> Envelope[ChatRulesRead]:
    """Set slow mode (one message per N seconds per member; the host and moderators are exempt) and the word filter
    (`mask` the words, or `block` the message), host and moderators."""
    return Envelope(data=await moderation_flows.set_chat_rules(session, user, room_id, data))


@router.post("/{room_id}/chat-rules/test")
async def test_chat_filter(
    room_id: RoomId, data: FilterTestIn, user: CurrentUser, session: DbSession
) -> Envelope[FilterTestRead]:
    """What the room's word filter would do to a text; nothing is stored (host and moderators)."""
    return Envelope(data=await moderation_flows.test_filter(session, user, room_id, data))


@router.get("/{room_id}/moderation-log")
async def moderation_log(
    room_id: RoomId,
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="an entry id")] = None,
) -> Envelope[list[ModerationEntryRead]]:
    """The room's moderation log, newest first (host and moderators): kicks, bans, mutes, role changes and
    hand-overs, and their undoing; `reversible` says whether the revert call would undo an entry now."""
    return Envelope(data=await moderation_flows.log(session, user, room_id, before=before, limit=limit))


@router.post("/{room_id}/moderation-log/{entry_id}/revert", responses=_MODERATE)
async def revert(
    room_id: RoomId, entry_id: RoomId, user: CurrentUser, session: DbSession
) -> Envelope[ModerationEntryRead]:
    """Undo a logged action (with the right the action takes): lift the ban or mute (a ban also gives back the
    membership it took), let a kicked person back in, put a role back, hand the host role back. 409
    `not_reversible` when it is undone already or the world moved on. Returns the new entry."""
    return Envelope(data=await moderation_flows.revert(session, user, room_id, entry_id))


def _listing(listing: dict[str, Any]) -> Envelope[PlaylistRead]:
    return Envelope(data=PlaylistRead.model_validate(listing))
