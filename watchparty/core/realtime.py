"""Telling a room's live sockets about a change, after the change commits. The realtime hub registers itself in
the database's session info at start-up; without it (no Redis) these are no-ops."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.db import after_commit

log = logging.getLogger("watchparty.sync")

PUBLISH = "room_publish"
KICK = "room_kick"
REVOKE = "user_revoke"

Publish = Callable[[int, list[dict[str, Any]]], Awaitable[Any]]
Kick = Callable[[int, int, int], Awaitable[Any]]

CLOSE_NOT_MEMBER = 4003
CLOSE_SESSION_ENDED = 4001


def room_event(session: AsyncSession, room_id: int, item: dict[str, Any]) -> None:
    """Broadcast `item` (a protocol message without `seq`) to the room once this unit of work commits."""
    publish: Publish | None = session.info.get(PUBLISH)
    if publish is None:
        return

    async def effect() -> None:
        try:
            await publish(room_id, [item])
        except Exception:  # the data is committed; live viewers see it on their next resume or refresh
            log.warning("room %s: live broadcast failed", room_id)

    after_commit(session, effect)


def close_sockets(session: AsyncSession, room_id: int, user_id: int, code: int) -> None:
    """Close the user's sockets on the room (on every process) once this unit of work commits."""
    kick: Kick | None = session.info.get(KICK)
    if kick is None:
        return

    async def effect() -> None:
        try:
            await kick(room_id, user_id, code)
        except Exception:
            log.warning("room %s: could not close user %s's sockets", room_id, user_id)

    after_commit(session, effect)


def end_live_sessions(session: AsyncSession, user_id: int) -> None:
    """Close every socket the user holds, in every room and process, once this unit of work commits."""
    revoke: Callable[[int], Awaitable[Any]] | None = session.info.get(REVOKE)
    if revoke is None:
        return

    async def effect() -> None:
        try:
            await revoke(user_id)
        except Exception:
            log.warning("could not close user %s's sockets", user_id)

    after_commit(session, effect)
