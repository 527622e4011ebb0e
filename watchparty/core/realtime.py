"""Telling the live room about a committed change (ADR 0014).

The database holds every durable room fact; the live room in Redis is derived from it. A room flow
(`watchparty/rooms/flows.py`) writes the database, and registers here what the live room must learn; once the unit
of work commits, the change is applied to the live room on every process. The realtime hub implements `LiveRooms`
and registers itself in the session hooks at start-up; without it (no Redis) these are no-ops, and the live room
is rebuilt from the database when it next starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.db import after_commit, hooks_of

log = logging.getLogger("watchparty.sync")


@dataclass(frozen=True)
class LiveItem:
    """A playlist item as the live room needs it."""

    item_id: int
    media_id: int
    duration: float | None


@dataclass(frozen=True)
class MediaSet:
    """The room's media changed (None: no media); playback starts over from 0, paused, or with `autoplay` playing
    if the room was. With a playlist: the item now playing, what comes after it, the playlist version, and the
    `playlist` event that tells the room (sent with the state change, in one batch)."""

    media_id: int | None
    duration: float | None
    item_id: int | None = None
    after: LiveItem | None = None
    autoplay: bool = False
    version: int = 0
    cause: Literal["media", "skip"] = "media"
    notice: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueueSet:
    """The playlist changed, not its current item: what comes after it, the room's playlist rules, and the
    `playlist` event that tells the room."""

    after: LiveItem | None
    version: int
    skip_ratio: float
    members_add: bool
    notice: dict[str, Any] | None = None


@dataclass(frozen=True)
class RoleSet:
    user_id: int
    role: str


@dataclass(frozen=True)
class ControlSet:
    open: bool


@dataclass(frozen=True)
class MemberGone:
    """A member left or was removed: their sockets close with 4003 and they leave the live room. `error` (a code
    and a message) is sent to those sockets first: why they were removed (kicked, banned)."""

    user_id: int
    error: tuple[str, str] | None = None


@dataclass(frozen=True)
class RoomGone:
    """The room was deleted: every socket closes with 4003 and the live state is removed."""


RoomChange = MediaSet | QueueSet | RoleSet | ControlSet | MemberGone | RoomGone


class LiveRooms(Protocol):
    async def change(self, room_id: int, change: RoomChange, by: int | None) -> None: ...

    async def publish(self, room_id: int, items: list[dict[str, Any]]) -> Any: ...

    async def revoke_user(self, user_id: int) -> None: ...


def live_change(session: AsyncSession, room_id: int, change: RoomChange, by: int | None = None) -> None:
    """Apply `change` to the live room on every process once this unit of work commits."""
    live = hooks_of(session).live
    if live is None:
        return

    async def effect() -> None:
        try:
            await live.change(room_id, change, by)
        except Exception:  # committed; the live room catches up when it is next rebuilt or refreshed
            log.warning("room %s: live change %s not applied", room_id, type(change).__name__, exc_info=True)

    after_commit(session, effect)


def room_event(session: AsyncSession, room_id: int, item: dict[str, Any]) -> None:
    """Broadcast `item` (a protocol message without `seq`) to the room once this unit of work commits."""
    live = hooks_of(session).live
    if live is None:
        return

    async def effect() -> None:
        try:
            await live.publish(room_id, [item])
        except Exception:  # the data is committed; live viewers see it on their next resume or refresh
            log.warning("room %s: live broadcast failed", room_id)

    after_commit(session, effect)


def end_live_sessions(session: AsyncSession, user_id: int) -> None:
    """Close every socket the user holds, in every room and process, once this unit of work commits."""
    live = hooks_of(session).live
    if live is None:
        return

    async def effect() -> None:
        try:
            await live.revoke_user(user_id)
        except Exception:
            log.warning("could not close user %s's sockets", user_id)

    after_commit(session, effect)
