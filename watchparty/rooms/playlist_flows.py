"""The playlist's flows (ADR 0015): every operation on a room's shared list, and the moves from item to item.

Like the room flows (ADR 0014), each one checks the room policy, writes the database (the one home of the list),
and registers what the live room must learn: `QueueSet` when what comes after the playing item may have changed,
`MediaSet` when the playing item changed. Both carry the room-wide `playlist` event, which the live room sends
in the same batch as the state change. Operations are serialised by a lock on the room's row; each one but a vote
names the version it was based on, and one based on an older version changes nothing and is told the list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.realtime import LiveItem, MediaSet, QueueSet, live_change
from watchparty.core.validators import MediaUrl
from watchparty.models import Movie, PlaylistItem, Room, RoomMember, User
from watchparty.movies import service as movies_service
from watchparty.movies import youtube
from watchparty.rooms import playlist, policy, repository, service
from watchparty.rooms.errors import (
    ImportTooLong,
    ItemNotFound,
    NotAllowed,
    PlaylistConflict,
    PlaylistFull,
    QueueCapReached,
    StalePlaylist,
)
from watchparty.rooms.schemas import ItemAdd, PlaylistImport, PlaylistItemRead, PlaylistRead, PlaylistUpdate
from watchparty.users import service as users_service

Op = Literal[
    "add", "remove", "move", "clear", "shuffle", "settings", "vote", "current", "import"
]  # the `op` of a `playlist` event
_media_url = TypeAdapter(MediaUrl)


# ---- reading -------------------------------------------------------------------------------------------------


async def read(session: AsyncSession, room: Room) -> dict[str, Any]:
    """The playlist's wire form (PlaylistRead): the one place that maps its rows to the shape."""
    rows = await repository.playlist_rows(session, room.id)
    voters: dict[int, list[int]] = {}
    for item_id, user_id in await repository.playlist_votes(session, room.id):
        voters.setdefault(item_id, []).append(user_id)
    items = [_item_json(row, voters.get(row["id"], [])) for row in rows]
    order = [item["id"] for item in items]
    current = room.current_item_id if room.current_item_id in order else None
    return {
        "version": room.playlist_version,
        "mode": room.playlist_mode,
        "loop": room.playlist_loop,
        "currentItemId": current,
        "currentIndex": playlist.index_of(order, current),
        "membersAdd": room.members_add,
        "skipRatio": room.skip_ratio,
        "queueCap": room.queue_cap,
        "items": items,
    }


def _item_json(row: Any, voters: list[int]) -> dict[str, Any]:
    adder = None
    if row["added_by"] is not None and row["adder_username"] is not None:
        adder = users_service.public_json(row["added_by"], row["adder_username"], row["adder_avatar_urls"])
    return {
        "id": row["id"],
        "movie": movies_service.summary_json(row),
        "addedBy": adder,
        "addedAt": row["created_at"],
        "votes": len(voters),
        "voters": voters,
    }


async def get_playlist(session: AsyncSession, room_id: int, user: User | None) -> dict[str, Any]:
    """The playlist of a room the caller may see."""
    room, _ = await service.visible_room(session, room_id, user)
    return await read(session, room)


async def view_scope(session: AsyncSession, room_id: int, user: User | None) -> str | None:
    return await service.view_scope(session, room_id, user)


# ---- the unit of every operation ---------------------------------------------------------------------------------


@dataclass
class _List:
    """A locked room, the caller's membership, and its items in order (with their movies' durations)."""

    room: Room
    member: RoomMember | None  # None: the room itself (its end, a vote-skip)
    items: dict[int, PlaylistItem]
    durations: dict[int, float | None]
    order: list[int]

    @property
    def loop(self) -> playlist.Loop:
        loop = self.room.playlist_loop
        return loop if loop in ("one", "all") else "off"  # type: ignore[return-value]

    @property
    def current(self) -> int | None:
        return self.room.current_item_id if self.room.current_item_id in self.items else None

    def may(self, action: policy.Action) -> bool:
        if self.member is None:
            return False
        return policy.allowed(
            self.member.role.value, action, open_control=self.room.open_control, members_add=self.room.members_add
        )

    def require(self, action: policy.Action, why: str | None = None) -> None:
        if not self.may(action):
            raise NotAllowed(why)

    def item(self, item_id: int) -> PlaylistItem:
        found = self.items.get(item_id)
        if found is None:
            raise ItemNotFound()
        return found

    def live(self, item_id: int | None) -> LiveItem | None:
        if item_id is None:
            return None
        item = self.items[item_id]
        return LiveItem(item_id, item.movie_id, self.durations[item_id])


async def _open(session: AsyncSession, user: User, room_id: int, base_version: int | None) -> _List:
    room, member = await service.member_room(session, room_id, user, for_update=True)
    if base_version is not None and base_version != room.playlist_version:
        raise StalePlaylist(details=[{"field": "baseVersion", "playlist": _jsonable(await read(session, room))}])
    return await _load(session, room, member)


async def _load(session: AsyncSession, room: Room, member: RoomMember | None) -> _List:
    rows = await repository.list_items(session, room.id)
    items = {item.id: item for item, _ in rows}
    durations = {item.id: float(d) if d else None for item, d in rows}
    return _List(room, member, items, durations, [item.id for item, _ in rows])


def _jsonable(listing: dict[str, Any]) -> dict[str, Any]:
    """The list as its JSON (what GET answers), for an error's details."""
    return PlaylistRead.model_validate(listing).model_dump(mode="json", by_alias=True)


def _renumber(plist: _List, order: list[int]) -> None:
    plist.order = order
    for position, item_id in enumerate(order):
        item = plist.items[item_id]
        if item.position != position:
            item.position = position


async def _votes(session: AsyncSession, room_id: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    for item_id, _ in await repository.playlist_votes(session, room_id):
        counts[item_id] = counts.get(item_id, 0) + 1
    return counts


async def _vote_order(session: AsyncSession, plist: _List) -> list[int]:
    ages = {i: (plist.items[i].created_at.timestamp(), i) for i in plist.order}
    return playlist.by_votes(plist.order, plist.current, await _votes(session, plist.room.id), ages)


async def _done(
    session: AsyncSession,
    plist: _List,
    op: Op,
    by: int | None,
    *,
    changed: tuple[int, ...] = (),
    play: int | Literal[False] | None = False,
    autoplay: bool = False,
) -> dict[str, Any]:
    """Finish an operation: a new version; `play` (an item id, None for nothing, False to keep the current one);
    the caches told; the live room told, with the room's `playlist` event. Returns the list as it now is."""
    room = plist.room
    room.playlist_version += 1
    playing_changed = play is not False
    if playing_changed:
        assert play is not False
        service.play_item(room, plist.items[play] if play is not None else None)
    room.last_activity_at = utcnow()
    await session.flush()
    invalidate(session, f"playlist:{room.id}", *(("rooms", f"room:{room.id}") if playing_changed else ()))
    listing = await read(session, room)
    picked = set(changed)
    notice = {
        "type": "playlist",
        "op": op,
        "by": by,
        "version": listing["version"],
        "order": [item["id"] for item in listing["items"]],
        "currentItemId": listing["currentItemId"],
        "mode": listing["mode"],
        "loop": listing["loop"],
        "membersAdd": listing["membersAdd"],
        "skipRatio": listing["skipRatio"],
        "queueCap": listing["queueCap"],
        "items": [_wire_item(item) for item in listing["items"] if item["id"] in picked],
    }
    after = plist.live(playlist.after(plist.order, plist.current, plist.loop))
    if playing_changed:
        current = plist.live(plist.current)
        live_change(
            session,
            room.id,
            MediaSet(
                media_id=None if current is None else current.media_id,
                duration=None if current is None else current.duration,
                item_id=plist.current,
                after=after,
                autoplay=autoplay,
                version=room.playlist_version,
                cause="skip" if autoplay else "media",
                notice=notice,
            ),
            by=by,
        )
    else:
        queue = QueueSet(after, room.playlist_version, room.skip_ratio, room.members_add, notice=notice)
        live_change(session, room.id, queue, by=by)
    return listing


def _wire_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as its JSON (what GET answers), for a socket event."""
    return PlaylistItemRead.model_validate(item).model_dump(mode="json", by_alias=True)


# ---- adding ------------------------------------------------------------------------------------------------------


def _check_room_for(plist: _List, count: int) -> int:
    """How many of `count` new items the caller may add now (the list's size, their queue cap), at least one."""
    room_left = playlist.MAX_ITEMS - len(plist.order)
    if room_left <= 0:
        raise PlaylistFull(f"A playlist holds at most {playlist.MAX_ITEMS} items")
    if plist.may("editPlaylist"):
        return min(count, room_left)
    me = plist.member.user_id if plist.member is not None else None
    queued = sum(1 for i in playlist.upcoming(plist.order, plist.current) if plist.items[i].added_by == me)
    mine_left = plist.room.queue_cap - queued
    if mine_left <= 0:
        raise QueueCapReached(f"You have {queued} items waiting to play; this room allows {plist.room.queue_cap}")
    return min(count, room_left, mine_left)


async def _insert(
    session: AsyncSession, plist: _List, movies: list[Movie], where: playlist.Where, user: User
) -> list[PlaylistItem]:
    at = playlist.insert_index(plist.order, plist.current, where)
    for movie in movies:  # a refused movie is never queued (ADR 0017); one still being checked may be
        movies_service.require_playable(movie)
    new = [
        PlaylistItem(room_id=plist.room.id, movie_id=m.id, added_by=user.id, position=at + i)
        for i, m in enumerate(movies)
    ]
    session.add_all(new)
    await session.flush()
    for item, movie in zip(new, movies, strict=True):
        plist.items[item.id] = item
        plist.durations[item.id] = float(movie.duration_seconds) if movie.duration_seconds else None
    order = [*plist.order[:at], *(i.id for i in new), *plist.order[at:]]
    plist.order = order
    if plist.room.playlist_mode == "vote":
        order = await _vote_order(session, plist)
    _renumber(plist, order)
    return new


def _first_play(plist: _List) -> int | Literal[False] | None:
    """An item added to a room with nothing playing becomes the playing one (paused at its start)."""
    if plist.current is None and plist.room.movie_id is None and plist.order:
        return plist.order[0]
    return False


def _title_of(url: str) -> str:
    ref = youtube.parse(url)
    if ref is not None:  # its real title comes from its player; oEmbed would need the internet
        return f"YouTube video {ref.video_id}"
    parts = urlsplit(url)
    name = unquote(PurePosixPath(parts.path).stem).strip()
    return (name or parts.hostname or url)[:200]


async def add_item(session: AsyncSession, user: User, room_id: int, data: ItemAdd) -> dict[str, Any]:
    """Add a catalogue movie, or a media URL (added to the catalogue on the way), at the end or next."""
    plist = await _open(session, user, room_id, data.base_version)
    plist.require("addItem", "Only the host and moderators add items in this room")
    _check_room_for(plist, 1)
    if data.movie_id is not None:
        movie = await movies_service.get_movie(session, data.movie_id)
    else:
        assert data.url is not None
        (movie,) = await movies_service.catalogue_urls(session, user, [(data.url, data.title or _title_of(data.url))])
    (item,) = await _insert(session, plist, [movie], data.at, user)
    return await _done(session, plist, "add", user.id, changed=(item.id,), play=_first_play(plist))


@dataclass(frozen=True)
class ImportResult:
    added: int
    errors: list[dict[str, Any]]
    playlist: dict[str, Any]


async def import_items(session: AsyncSession, user: User, room_id: int, data: PlaylistImport) -> ImportResult:
    """Add up to 200 media URLs in one operation; each bad line is reported (1-based), and the good ones added."""
    lines: list[tuple[int, str, str | None]]
    if data.text is not None:
        lines = [(n, line.strip(), None) for n, line in enumerate(data.text.splitlines(), 1) if line.strip()]
    else:
        lines = [(n, e.url.strip(), e.title) for n, e in enumerate(data.items or [], 1)]
    if len(lines) > playlist.MAX_IMPORT:
        raise ImportTooLong(f"An import takes at most {playlist.MAX_IMPORT} lines; this one has {len(lines)}")
    plist = await _open(session, user, room_id, data.base_version)
    plist.require("addItem", "Only the host and moderators add items in this room")
    errors: list[dict[str, Any]] = []
    good: list[tuple[int, str, str]] = []
    for n, raw, title in lines:
        try:
            url = _media_url.validate_python(raw)
        except ValidationError as exc:
            errors.append({"line": n, "reason": exc.errors()[0]["msg"].removeprefix("Value error, ")})
            continue
        clean = " ".join((title or "").split())[:200]
        good.append((n, url, clean or _title_of(url)))
    allowed = _check_room_for(plist, len(good)) if good else 0
    for n, _, _ in good[allowed:]:
        errors.append({"line": n, "reason": "over the limit: the playlist is full, or you reached your queue cap"})
    good = good[:allowed]
    if not good:
        return ImportResult(0, sorted(errors, key=lambda e: e["line"]), await read(session, plist.room))
    movies = await movies_service.catalogue_urls(session, user, [(url, title) for _, url, title in good])
    new = await _insert(session, plist, movies, data.at, user)
    listing = await _done(session, plist, "import", user.id, changed=tuple(i.id for i in new), play=_first_play(plist))
    return ImportResult(len(new), sorted(errors, key=lambda e: e["line"]), listing)


# ---- changing the list -------------------------------------------------------------------------------------------


async def remove_item(
    session: AsyncSession, user: User, room_id: int, item_id: int, base_version: int
) -> dict[str, Any]:
    """Remove an item (the host and moderators; anyone their own). Removing the playing item moves the room on to
    the one after it."""
    plist = await _open(session, user, room_id, base_version)
    item = plist.item(item_id)
    if not plist.may("editPlaylist") and item.added_by != user.id:
        raise NotAllowed("Only the host and moderators remove other people's items")
    play: int | Literal[False] | None = False
    if item_id == plist.current:
        play = playlist.next_of(plist.order, item_id, plist.loop)
        play = None if play == item_id else play
    await repository.delete_items(session, [item_id])
    del plist.items[item_id]
    _renumber(plist, [i for i in plist.order if i != item_id])
    return await _done(session, plist, "remove", user.id, play=play, autoplay=play is not False)


async def move_item(
    session: AsyncSession, user: User, room_id: int, item_id: int, index: int, base_version: int
) -> dict[str, Any]:
    plist = await _open(session, user, room_id, base_version)
    plist.require("editPlaylist", "Only the host and moderators reorder the playlist")
    plist.item(item_id)
    if plist.room.playlist_mode == "vote":
        raise PlaylistConflict("In vote mode the order follows the votes")
    _renumber(plist, playlist.moved(plist.order, item_id, index))
    return await _done(session, plist, "move", user.id)


async def clear(session: AsyncSession, user: User, room_id: int, base_version: int) -> dict[str, Any]:
    """Remove every item but the one playing."""
    plist = await _open(session, user, room_id, base_version)
    plist.require("editPlaylist", "Only the host and moderators clear the playlist")
    gone = [i for i in plist.order if i != plist.current]
    await repository.delete_items(session, gone)
    for i in gone:
        del plist.items[i]
    _renumber(plist, [i for i in plist.order if i == plist.current])
    return await _done(session, plist, "clear", user.id)


async def shuffle(
    session: AsyncSession, user: User, room_id: int, base_version: int, rng: random.Random | None = None
) -> dict[str, Any]:
    """The items still to come in a random order."""
    plist = await _open(session, user, room_id, base_version)
    plist.require("editPlaylist", "Only the host and moderators shuffle the playlist")
    if plist.room.playlist_mode == "vote":
        raise PlaylistConflict("In vote mode the order follows the votes")
    _renumber(plist, playlist.shuffled(plist.order, plist.current, rng or random.SystemRandom()))
    return await _done(session, plist, "shuffle", user.id)


async def update_settings(session: AsyncSession, user: User, room_id: int, data: PlaylistUpdate) -> dict[str, Any]:
    """Mode and loop (the host and moderators); membersAdd, skipRatio and queueCap (the host)."""
    plist = await _open(session, user, room_id, data.base_version)
    changes = data.model_dump(exclude_unset=True, exclude={"base_version"})
    changes = {k: v for k, v in changes.items() if v is not None}
    if {"mode", "loop"} & changes.keys():
        plist.require("editPlaylist", "Only the host and moderators change the mode and loop")
    if {"members_add", "skip_ratio", "queue_cap"} & changes.keys():
        plist.require("editRoom", "Only the host changes the room's playlist rules")
    room = plist.room
    for field, value in changes.items():
        setattr(room, f"playlist_{field}" if field in ("mode", "loop") else field, value)
    if changes.get("mode") == "vote":
        _renumber(plist, await _vote_order(session, plist))
    return await _done(session, plist, "settings", user.id)


async def vote(session: AsyncSession, user: User, room_id: int, item_id: int, up: bool) -> dict[str, Any]:
    """Vote an item still to come up (or take the vote back). Setting one's own vote cannot conflict with another
    operation, so a vote names no version."""
    plist = await _open(session, user, room_id, None)
    plist.require("vote", "You may not vote in this room")
    plist.item(item_id)
    if plist.room.playlist_mode != "vote":
        raise PlaylistConflict("Votes order the playlist in vote mode only")
    if item_id not in playlist.upcoming(plist.order, plist.current):
        raise PlaylistConflict("Only items still to come take votes")
    await repository.set_vote(session, item_id, user.id, up)
    _renumber(plist, await _vote_order(session, plist))
    return await _done(session, plist, "vote", user.id, changed=(item_id,))


# ---- moving from item to item ------------------------------------------------------------------------------------


async def step(
    session: AsyncSession, user: User, room_id: int, where: Literal["next", "previous"], base_version: int
) -> dict[str, Any]:
    """`next` or `previous` (whoever may control playback): the room moves there, playing if it was."""
    plist = await _open(session, user, room_id, base_version)
    plist.require("control", "You do not control playback here")
    loop = plist.loop
    target = (playlist.next_of if where == "next" else playlist.previous_of)(plist.order, plist.current, loop)
    if target is None:
        raise PlaylistConflict("Nothing comes after this item" if where == "next" else "The playlist is empty")
    return await _done(session, plist, "current", user.id, play=target, autoplay=True)


async def play(session: AsyncSession, user: User, room_id: int, item_id: int, base_version: int) -> dict[str, Any]:
    """Jump to an item (whoever may control playback)."""
    plist = await _open(session, user, room_id, base_version)
    plist.require("control", "You do not control playback here")
    plist.item(item_id)
    return await _done(session, plist, "current", user.id, play=item_id, autoplay=True)


async def play_now(session: AsyncSession, user: User, room_id: int, movie_id: int | None) -> None:
    """The room's media set directly (`movieId` on the room, the socket's `changeMedia`): the movie goes in right
    after the playing item and plays from 0, paused; None stops the room with nothing playing. The caller has
    checked `changeMedia` and holds no lock; this takes it."""
    plist = await _open(session, user, room_id, None)
    if movie_id is None:
        await _done(session, plist, "current", user.id, play=None)
        return
    _check_room_for(plist, 1)
    movie = await movies_service.get_movie(session, movie_id)
    (item,) = await _insert(session, plist, [movie], "next", user)
    await _done(session, plist, "add", user.id, changed=(item.id,), play=item.id)


async def advanced(session: AsyncSession, room_id: int, item_id: int) -> None:
    """The live room moved to `item_id` by itself (the end of an item, or a vote-skip): the database follows,
    and the live room learns what comes after it now. A room that moved elsewhere meanwhile is left alone."""
    room = await repository.get_room(session, room_id, for_update=True)
    if room is None or room.current_item_id == item_id:
        return
    plist = await _load(session, room, None)
    if item_id not in plist.items:
        return
    service.play_item(room, plist.items[item_id], reset=False)  # the playback is the live room's, stored with it
    await _done(session, plist, "current", None)
