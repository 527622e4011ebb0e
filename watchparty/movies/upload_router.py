"""HTTP routes under /api/uploads: a video file in resumable chunks, made into HLS by a job (ADR 0021)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from starlette.requests import ClientDisconnect

from watchparty.auth.deps import AccountUser
from watchparty.core.deps import AppServices, DbSession
from watchparty.core.errors import AppError
from watchparty.core.schemas import Envelope, ErrorEnvelope
from watchparty.movies import uploads
from watchparty.movies.schemas import UploadCreate, UploadRead

router = APIRouter(prefix="/uploads", tags=["uploads"])
UploadId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ChunkCutOff(AppError):
    status_code = 400
    code = "chunk_cut_off"
    message = "The chunk was cut off before it all arrived; nothing of it was kept. Send it again."


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"model": ErrorEnvelope, "description": "Over UPLOAD_MAX_BYTES, or over the quota"}},
)
async def start_upload(
    data: UploadCreate, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[UploadRead]:
    """Start an upload of `size` bytes; send them with `PUT /api/uploads/{id}?offset=…`, at most `chunkBytes` at a
    time. Accounts only (guests cannot add to the catalogue)."""
    upload = await uploads.start(session, services.settings, user, data)
    return Envelope(data=uploads.to_read(services.settings, upload))


@router.put(
    "/{upload_id}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        409: {
            "model": ErrorEnvelope,
            "description": "`upload_offset_mismatch` (details say where to go on from), or `upload_not_receiving`",
        },
        413: {"model": ErrorEnvelope, "description": "Over `chunkBytes`, or past the file's size"},
    },
)
async def put_chunk(
    upload_id: UploadId,
    request: Request,
    user: AccountUser,
    session: DbSession,
    services: AppServices,
    offset: Annotated[int, Query(ge=0, le=2**50, description="where this chunk starts: the upload's `received`")],
) -> Envelope[UploadRead]:
    """The next chunk of the file, as the raw body. The last chunk queues the transcode; `status` turns to
    `processing`. A chunk cut off mid-way keeps nothing: ask `GET` for `received` and send from there."""
    try:
        chunk = await request.body()
    except ClientDisconnect:
        raise ChunkCutOff() from None
    upload = await uploads.put_chunk(session, services.settings, user, upload_id, offset, chunk)
    return Envelope(data=uploads.to_read(services.settings, upload))


@router.get("")
async def list_uploads(user: AccountUser, session: DbSession, services: AppServices) -> Envelope[list[UploadRead]]:
    """Your uploads, newest first (at most 50)."""
    return Envelope(data=[uploads.to_read(services.settings, u) for u in await uploads.list_own(session, user)])


@router.get("/{upload_id}")
async def get_upload(
    upload_id: UploadId, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[UploadRead]:
    """How far an upload and its transcode are (poll it: `received`, `status`, `progress`, `movieId`, `error`)."""
    return Envelope(data=uploads.to_read(services.settings, await uploads.get_own(session, user, upload_id)))


@router.delete("/{upload_id}")
async def delete_upload(
    upload_id: UploadId, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[None]:
    """Remove an upload, its files and the movie made of it; a transcode under way stops."""
    await uploads.delete(session, services.settings, user, upload_id)
    return Envelope(data=None)
