"""HTTP routes under /api/chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from watchparty.auth.deps import CurrentUser, OptionalUser
from watchparty.chat import service as chat_service
from watchparty.chat.schemas import MessageCreate, MessagePage, MessageRead
from watchparty.core.deps import DbSession, services_of
from watchparty.core.responses import EncodedJSON
from watchparty.core.schemas import Envelope, RoomId

router = APIRouter(prefix="/chat", tags=["chat"])


@router.get("/{room_id}/messages", response_model=MessagePage)
async def list_messages(
    request: Request,
    room_id: RoomId,
    user: OptionalUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a message id")] = None,
) -> EncodedJSON:
    """Chat history, newest last. Public rooms: anyone; other rooms: members."""
    body = await chat_service.history(services_of(request), room_id, user, before=before, limit=limit)
    return EncodedJSON(body)


@router.post("/{room_id}/messages", status_code=status.HTTP_201_CREATED)
async def post_message(
    room_id: RoomId, data: MessageCreate, user: CurrentUser, session: DbSession
) -> Envelope[MessageRead]:
    """Post a message (members only)."""
    return Envelope(data=await chat_service.post_message(session, room_id, user, data))
