"""Chat use cases: history, posting within the room's chat rules, replies, reactions, deletion (ADR 0016)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.chat import repository
from watchparty.chat.errors import Filtered, Flooded, InvalidReply, MessageNotFound, SlowMode
from watchparty.chat.schemas import REACTIONS, MessageCreate, MessageRead, ReactionIn
from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.errors import RateLimited
from watchparty.core.realtime import room_event
from watchparty.core.responses import encode_json
from watchparty.core.security import Caller
from watchparty.models import Message, User
from watchparty.rooms import chat_rules, moderation_flows, policy
from watchparty.rooms import service as rooms_service
from watchparty.rooms.errors import NotAllowed
from watchparty.users import service as users_service

REPLY_EXCERPT = 100
FLOOD_RULE = "5/second"  # more than this from one person in one room is a flood...
FLOOD_MUTE_SECONDS = 60  # ...which mutes them for this long


async def history(services: Services, room_id: int, user: User | None, *, before: int | None, limit: int) -> bytes:
    """A page of history, oldest first, ending just before `before` (or at the newest message), encoded as a
    `MessagePage`. A hot read (ADR 0012): one statement reads the page and checks access together."""
    body = await readable_history(services, room_id, user, before=before, limit=limit)
    if body is None:  # nothing found: a room this caller may not read (404/403 by the room rules), or no messages
        async with services.db.session() as session:
            await rooms_service.readable_room(session, room_id, user)
        body = _page_json([], limit, has_more=False)
    return body


async def readable_history(
    services: Services, room_id: int, user: Caller | None, *, before: int | None, limit: int
) -> bytes | None:
    """One statement that reads the page and checks access together; None when it finds nothing."""
    async with services.db.read() as conn:
        rows = await repository.readable_history(
            conn, room_id, user.id if user else None, before=before, limit=limit + 1
        )
    if not rows:
        return None
    messages = [message_json(m, repository.reactions_from(m["reactions"])) for m in reversed(rows[:limit])]
    return _page_json(messages, limit, has_more=len(rows) > limit)


def _page_json(messages: list[dict[str, Any]], limit: int, *, has_more: bool) -> bytes:
    cursor = {"limit": limit, "hasMore": has_more, "nextBefore": messages[0]["id"] if has_more else None}
    return encode_json({"success": True, "data": messages, "pagination": cursor})


def message_json(row: RowMapping, reactions: dict[str, list[int]]) -> dict[str, Any]:
    """A history row as MessageRead's wire form."""
    user = None
    if row["user_id"] is not None and row["username"] is not None:
        user = users_service.public_json(row["user_id"], row["username"], row["avatar_urls"])
    reply = None
    if row["reply_id"] is not None:
        gone = row["reply_deleted_at"] is not None
        reply = _reply_json(row["reply_id"], row["reply_author"], None if gone else row["reply_content"])
    return {
        "id": row["id"],
        "roomId": row["room_id"],
        "user": user,
        "authorName": row["username"] or row["author_name"],
        "content": row["content"],
        "videoPosition": row["video_position"],
        "createdAt": row["created_at"],
        "replyTo": reply,
        "reactions": _reactions_json(reactions),
    }


def _reply_json(message_id: int, author: str | None, content: str | None) -> dict[str, Any]:
    excerpt = (
        None if content is None else (content if len(content) <= REPLY_EXCERPT else content[: REPLY_EXCERPT - 1] + "…")
    )
    return {"id": message_id, "authorName": author, "excerpt": excerpt}


def _reactions_json(reactions: dict[str, list[int]]) -> list[dict[str, Any]]:
    return [{"emoji": e, "count": len(reactions[e]), "userIds": reactions[e]} for e in REACTIONS if reactions.get(e)]


async def post_message(
    session: AsyncSession, services: Services, room_id: int, user: User, data: MessageCreate
) -> MessageRead:
    """Store a message from a member who is not muted, within the room's chat rules (ADR 0016): a flood (more than
    FLOOD_RULE) mutes the sender for FLOOD_MUTE_SECONDS; slow mode (the host and moderators are exempt from both);
    the word filter. It also marks the room and the member as active."""
    room, member = await rooms_service.member_room(session, room_id, user)
    await rooms_service.refuse_muted(session, room_id, user.id)
    moderator = policy.allowed(member.role.value, "moderateChat")  # the host and moderators: no flood or slow mode
    try:
        if not moderator:
            await services.limiter.hit(FLOOD_RULE, "chat-flood", f"{room_id}:{user.id}")
    except RateLimited:
        await moderation_flows.flood_mute(session, room_id, user.id, FLOOD_MUTE_SECONDS)
        raise Flooded(f"Too many messages at once: you are muted for {FLOOD_MUTE_SECONDS} s") from None
    now = utcnow()
    if room.slow_mode_seconds and not moderator:
        last = await repository.last_message_at(session, room_id, user.id)
        wait = room.slow_mode_seconds - (now - last).total_seconds() if last is not None else 0
        if wait > 0:
            raise SlowMode(f"Slow mode: one message every {room.slow_mode_seconds} s", retry_after=math.ceil(wait))
    verdict, content = chat_rules.judge(data.content, room.word_filter or [], room.filter_mode)
    if verdict == "blocked":
        raise Filtered()
    reply = None
    if data.reply_to is not None:
        parent = await repository.get_message(session, room_id, data.reply_to)
        if parent is None or parent.deleted_at is not None:
            raise InvalidReply()
        author = await users_service.get_user(session, parent.user_id) if parent.user_id else None
        reply = _reply_json(parent.id, author.username if author else parent.author_name, parent.content)
    message = Message(room_id=room.id, user_id=user.id, content=content, video_position=data.video_position,
                      reply_to_id=data.reply_to)  # fmt: skip
    session.add(message)
    rooms_service.touch_activity(session, room)
    member.last_seen_at = now
    await session.flush()
    invalidate(session, f"chat:{room_id}")
    read = MessageRead(
        id=message.id,
        room_id=room.id,
        user=users_service.to_public(user.id, user.username, user.avatar_urls),
        author_name=user.username,
        content=message.content,
        video_position=message.video_position,
        created_at=message.created_at,
        reply_to=reply,
        reactions=[],
    )
    room_event(session, room_id, {"type": "chat", "message": read.model_dump(mode="json", by_alias=True)})
    return read


async def delete_message(session: AsyncSession, user: User, room_id: int, message_id: int) -> None:
    """Delete a message: its author may, and the host and moderators may delete anyone's (logged, restorable). It
    disappears for everyone at once (`chatDeleted`)."""
    _, member = await rooms_service.member_room(session, room_id, user)
    message = await repository.get_message(session, room_id, message_id)
    if message is None or message.deleted_at is not None:
        raise MessageNotFound()
    if message.user_id != user.id:
        if not policy.allowed(member.role.value, "moderateChat"):
            raise NotAllowed("Only the host and moderators delete other people's messages")
        excerpt = message.content[:REPLY_EXCERPT]
        rooms_service.record(session, room_id, user.id, "delete", message.user_id,
                             {"messageId": message.id, "excerpt": excerpt})  # fmt: skip
    message.deleted_at, message.deleted_by = utcnow(), user.id
    await session.flush()
    invalidate(session, f"chat:{room_id}")
    room_event(session, room_id, {"type": "chatDeleted", "messageIds": [message.id], "by": user.id})


async def clear_chat(session: AsyncSession, user: User, room_id: int) -> int:
    """Clear the room's chat (host and moderators): every message is hidden for everyone (`chatCleared`); logged,
    and restorable from the log. How many messages went."""
    _, member = await rooms_service.member_room(session, room_id, user)
    if not policy.allowed(member.role.value, "moderateChat"):
        raise NotAllowed()
    at = utcnow()
    count = await repository.clear_room(session, room_id, at, user.id)
    rooms_service.record(session, room_id, user.id, "clear", None, {"at": at.isoformat(), "count": count})
    await session.flush()
    invalidate(session, f"chat:{room_id}")
    room_event(session, room_id, {"type": "chatCleared", "by": user.id})
    return count


async def react(
    session: AsyncSession, user: User, room_id: int, message_id: int, data: ReactionIn
) -> list[dict[str, Any]]:
    """Add or take back one's reaction (one per person per emoji); the room sees the new count (`reaction`). The
    room's playback is not touched. Returns the message's reactions."""
    await rooms_service.member_room(session, room_id, user)
    message = await repository.get_message(session, room_id, message_id)
    if message is None or message.deleted_at is not None:
        raise MessageNotFound()
    await repository.set_reaction(session, message_id, user.id, data.emoji, data.on)
    reactions = (await repository.reactions_of(session, [message_id])).get(message_id, {})
    invalidate(session, f"chat:{room_id}")
    event = {"type": "reaction", "messageId": message_id, "emoji": data.emoji, "userId": user.id, "on": data.on,
             "count": len(reactions.get(data.emoji, []))}  # fmt: skip
    room_event(session, room_id, event)
    return _reactions_json(reactions)


async def remove_messages_before(session: AsyncSession, before: datetime) -> list[int]:
    """The cleanup job's message removal; returns the rooms that lost messages (their chat caches are invalidated)."""
    rooms = await repository.delete_messages_before(session, before)
    invalidate(session, *(f"chat:{r}" for r in rooms))
    return rooms
