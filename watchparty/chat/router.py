"""HTTP routes under /api/chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from watchparty.auth.deps import CurrentUser, OptionalUser
from watchparty.chat import service as chat_service
from watchparty.chat.schemas import ClearedRead, MessageCreate, MessagePage, MessageRead, ReactionIn, ReactionRead
from watchparty.core.deps import AppServices, DbSession, services_of
from watchparty.core.responses import EncodedJSON
from watchparty.core.schemas import Envelope, ErrorEnvelope, RoomId

router = APIRouter(prefix="/chat", tags=["chat"])


@router.get("/{room_id}/messages", response_model=MessagePage)
async def list_messages(
    request: Request,
    room_id: RoomId,
    user: OptionalUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a message id")] = None,
) -> EncodedJSON:
    """Chat history, newest last. Public rooms without a password: anyone; other rooms: members (403)."""
    body = await chat_service.history(services_of(request), room_id, user, before=before, limit=limit)
    return EncodedJSON(body)


@router.post(
    "/{room_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"model": ErrorEnvelope, "description": "`muted`, `filtered` (the word filter blocks it), `not_a_member`"},
        422: {"model": ErrorEnvelope, "description": "`invalid_reply`: `replyTo` is not a message of this room"},
        429: {"model": ErrorEnvelope, "description": "`slow_mode`, with Retry-After"},
    },
)
async def post_message(
    room_id: RoomId, data: MessageCreate, user: CurrentUser, session: DbSession, services: AppServices
) -> Envelope[MessageRead]:
    """Post a message (members only), within the room's chat rules: not while muted; in slow mode one per N seconds
    (the host and moderators are exempt); the word filter masks or blocks; more than 5 in a second mutes the sender
    for 60 s (not the host or moderators). `replyTo` answers a message of the room."""
    return Envelope(data=await chat_service.post_message(session, services, room_id, user, data))


@router.delete("/{room_id}/messages/{message_id}")
async def delete_message(room_id: RoomId, message_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[None]:
    """Delete a message: one's own, or anyone's for the host and moderators (logged; restorable from the log). It
    disappears for everyone at once."""
    await chat_service.delete_message(session, user, room_id, message_id)
    return Envelope(data=None)


@router.post("/{room_id}/clear")
async def clear_chat(room_id: RoomId, user: CurrentUser, session: DbSession) -> Envelope[ClearedRead]:
    """Clear the chat for everyone (host and moderators; logged, restorable from the log)."""
    return Envelope(data=ClearedRead(removed=await chat_service.clear_chat(session, user, room_id)))


@router.put("/{room_id}/messages/{message_id}/reactions")
async def react(
    room_id: RoomId, message_id: RoomId, data: ReactionIn, user: CurrentUser, session: DbSession
) -> Envelope[list[ReactionRead]]:
    """Add (`on: true`) or take back one's reaction with one emoji of the set (members); everyone sees the new
    count. Returns the message's reactions."""
    reactions = await chat_service.react(session, user, room_id, message_id, data)
    return Envelope(data=[ReactionRead.model_validate(r) for r in reactions])
