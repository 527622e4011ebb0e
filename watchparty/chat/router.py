"""HTTP routes under /api/chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from watchparty.auth.deps import CurrentUser, OptionalUser
from watchparty.chat import service as chat_service
from watchparty.chat.schemas import MessageCreate, MessagePage, MessageRead
from watchparty.core.deps import DbSession
from watchparty.core.schemas import Envelope, RoomId

router = APIRouter(prefix="/chat", tags=["chat"])


@router.get("/{room_id}/messages")
async def list_messages(
    room_id: RoomId,
    user: OptionalUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a message id")] = None,
) -> MessagePage:
    """Chat history, newest last. Public rooms: anyone; other rooms: members."""
    return await chat_service.list_messages(session, room_id, user, before=before, limit=limit)


@router.post("/{room_id}/messages", status_code=status.HTTP_201_CREATED)
async def post_message(
    room_id: RoomId, data: MessageCreate, user: CurrentUser, session: DbSession
) -> Envelope[MessageRead]:
    """Post a message (members only)."""
    return Envelope(data=await chat_service.post_message(session, room_id, user, data))
