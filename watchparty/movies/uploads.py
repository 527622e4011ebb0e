"""Use cases on video uploads (ADR 0021): chunks in, a transcode job queued, the catalogue entry made as soon as
viewers can start, and the files removed when nothing refers to them. The database row is the one home of an
upload's state; the files follow it."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.cache import invalidate
from watchparty.core.clock import iso_z, utcnow
from watchparty.jobs import outbox
from watchparty.jobs.queues import NORMAL_PRIORITY, TRANSCODE
from watchparty.models import MediaUpload, Movie, User, UserRole
from watchparty.movies import repository, transcode
from watchparty.movies.errors import (
    QuotaExceeded,
    UploadNotFound,
    UploadNotReceiving,
    UploadOffsetMismatch,
    UploadTooLarge,
)
from watchparty.movies.schemas import UploadCreate, UploadError, UploadRead


def staged_path(settings: Settings, token: str) -> Path:
    return settings.upload_staging_dir / f"video-{token}.part"


def output_dir(settings: Settings, token: str) -> Path:
    return settings.media_dir / "hls" / token


def playlist_url(token: str) -> str:
    return f"/media/hls/{token}/master.m3u8"


def to_read(settings: Settings, upload: MediaUpload) -> UploadRead:
    error = UploadError(code=upload.error_code, message=upload.error_message or "") if upload.error_code else None
    return UploadRead(
        id=upload.id, title=upload.title, filename=upload.filename, size=upload.size, received=upload.received,
        chunk_bytes=settings.upload_chunk_bytes, status=upload.status, progress=round(upload.progress, 4),
        job_id=upload.job_id, error=error, movie_id=upload.movie_id, source=upload.source,
        renditions=(upload.output or {}).get("renditions", []), created_at=upload.created_at,
        updated_at=upload.updated_at,
    )  # fmt: skip


async def start(session: AsyncSession, settings: Settings, user: User, data: UploadCreate) -> MediaUpload:
    """A new upload of `data.size` bytes, if it is under the limit and the owner's quota has room."""
    if data.size > settings.upload_max_bytes:
        raise UploadTooLarge(f"The file is {_size(data.size)}; uploads are at most {_size(settings.upload_max_bytes)}")
    used = await repository.quota_used(session, user.id)
    if used + data.size > settings.upload_quota_bytes:
        raise QuotaExceeded(f"Your uploads take {_size(used)} of your {_size(settings.upload_quota_bytes)}; this "
                            f"file ({_size(data.size)}) does not fit. Delete an upload first.")  # fmt: skip
    upload = MediaUpload(owner_id=user.id, token=secrets.token_hex(12), title=data.title, filename=data.filename,
                         size=data.size, received=0, status="receiving", progress=0.0)  # fmt: skip
    session.add(upload)
    await session.flush()
    await anyio.to_thread.run_sync(_write_at, staged_path(settings, upload.token), 0, b"")
    return upload


async def get_own(session: AsyncSession, user: User, upload_id: int, *, for_update: bool = False) -> MediaUpload:
    """The upload, if it is this person's (or they are an administrator); otherwise it does not exist for them."""
    upload = await repository.get_upload(session, upload_id, for_update=for_update)
    if upload is None or (upload.owner_id != user.id and user.role != UserRole.ADMIN):
        raise UploadNotFound()
    return upload


async def put_chunk(
    session: AsyncSession, settings: Settings, user: User, upload_id: int, offset: int, chunk: bytes
) -> MediaUpload:
    """Bytes `offset`…`offset+len(chunk)` of the file. A chunk must start where the upload stands (409 says where
    that is, so a client resumes from there); the last one queues the transcode, in this transaction."""
    upload = await get_own(session, user, upload_id, for_update=True)
    if upload.status != "receiving":
        raise UploadNotReceiving()
    if offset != upload.received:
        raise UploadOffsetMismatch(details=[{"field": "offset", "expected": upload.received, "got": offset}])
    if offset + len(chunk) > upload.size:
        raise UploadTooLarge(f"This chunk goes past the file's declared size ({upload.size} bytes)")
    # Written at `offset` and synced before the row says so: bytes past `received` (a chunk cut off) are overwritten.
    await anyio.to_thread.run_sync(_write_at, staged_path(settings, upload.token), offset, chunk)
    upload.received = offset + len(chunk)
    upload.updated_at = utcnow()
    if upload.received == upload.size:
        upload.status = "processing"
        upload.job_id = await outbox.enqueue(
            session, TRANSCODE, "transcode", {"uploadId": upload.id, "ownerId": upload.owner_id},
            priority=NORMAL_PRIORITY, owner_id=upload.owner_id,
        )  # fmt: skip
    await session.flush()
    return upload


def _write_at(path: Path, offset: int, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.ftruncate(fd, offset)
        if data:
            os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


async def list_own(session: AsyncSession, user: User) -> list[MediaUpload]:
    return list(await repository.uploads_of(session, user.id))


async def delete(session: AsyncSession, settings: Settings, user: User, upload_id: int) -> None:
    """The upload, its files and the catalogue entry made of it (rooms showing it go on without a movie, as when
    a movie is deleted); its bytes stop counting against the quota. A transcode under way stops."""
    upload = await get_own(session, user, upload_id, for_update=True)
    if upload.movie_id is not None and (movie := await repository.get_movie(session, upload.movie_id)) is not None:
        await session.delete(movie)
        invalidate(session, "movies", f"movie:{movie.id}", "catalog")
    token = upload.token
    await session.delete(upload)
    await session.flush()
    await anyio.to_thread.run_sync(remove_files, settings, token)


def remove_files(settings: Settings, token: str) -> None:
    staged_path(settings, token).unlink(missing_ok=True)
    transcode.remove(output_dir(settings, token))


# -- called by the transcode job ----------------------------------------------------------------------------------


async def record_progress(session: AsyncSession, upload_id: int, progress: float) -> bool:
    """The transcode's progress; False if the upload is gone (deleted meanwhile): the job stops."""
    upload = await repository.get_upload(session, upload_id)
    if upload is None or upload.status != "processing":
        return False
    upload.progress = progress
    await session.flush()
    return True


async def publish(session: AsyncSession, upload_id: int, info: dict[str, Any]) -> int | None:
    """The first segments exist: the catalogue entry, ready to play (kind hls) while the rest is made. A re-run
    after a crash keeps the entry it made before. Returns the movie's id (None if the upload is gone)."""
    upload = await repository.get_upload(session, upload_id, for_update=True)
    if upload is None:
        return None
    if upload.movie_id is not None:
        return upload.movie_id
    facts = {"code": "ok", "message": "Uploaded here; still being prepared, and viewers can start.", "kind": "hls",
             "contentType": "application/vnd.apple.mpegurl", "duration": info["duration"],
             "codecs": ["avc1", "mp4a"], "ranges": True, "cors": True, "checkedAt": iso_z(utcnow())}  # fmt: skip
    movie = Movie(
        title=upload.title, video_url=playlist_url(upload.token), genres=[], created_by=upload.owner_id,
        duration_seconds=max(1, round(info["duration"])), check_status="ready", media_check=facts,
    )  # fmt: skip
    session.add(movie)
    await session.flush()
    upload.movie_id = movie.id
    invalidate(session, "movies", "catalog")
    return movie.id


async def finish(session: AsyncSession, upload_id: int, output: dict[str, Any]) -> bool:
    upload = await repository.get_upload(session, upload_id, for_update=True)
    if upload is None:
        return False
    upload.status, upload.progress, upload.output = "ready", 1.0, output
    if upload.movie_id is not None:
        movie = await repository.get_movie(session, upload.movie_id)
        if movie is not None:
            movie.media_check = {**(movie.media_check or {}), "message": "Uploaded here, in "
                                 f"{len(output['renditions'])} qualities.", "checkedAt": iso_z(utcnow())}  # fmt: skip
            invalidate(session, "movies", f"movie:{movie.id}", "catalog")
    await session.flush()
    return True


async def fail(session: AsyncSession, upload_id: int, code: str, message: str) -> None:
    """The upload cannot be played: its words for the owner, and its catalogue entry (if the first segments had
    already been offered) refused with the same words."""
    upload = await repository.get_upload(session, upload_id, for_update=True)
    if upload is None:
        return
    upload.status, upload.error_code, upload.error_message = "failed", code, message[:300]
    if upload.movie_id is not None:
        movie = await repository.get_movie(session, upload.movie_id)
        if movie is not None:
            movie.check_status = "refused"
            movie.media_check = {"code": "unreadable", "message": message, "checkedAt": iso_z(utcnow())}
            invalidate(session, "movies", f"movie:{movie.id}", "catalog")
    await session.flush()


async def set_source(session: AsyncSession, upload_id: int, source: dict[str, Any]) -> None:
    """What the file is, as the transcode starts; a run after a restart starts its progress again from 0."""
    upload = await repository.get_upload(session, upload_id)
    if upload is not None:
        upload.source, upload.progress = source, 0.0
        await session.flush()


# -- called by the cleanup job -------------------------------------------------------------------------------------


async def remove_unreferenced(session: AsyncSession, settings: Settings, stale_before: datetime) -> int:
    """Uploads nothing refers to (their movie was deleted), failed ones, and unfinished ones gone quiet: rows and
    files. Then any folder under hls/ whose upload row is gone (a crash between the two). Returns uploads removed."""
    uploads = await repository.removable_uploads(session, stale_before)
    tokens = [u.token for u in uploads]
    for upload in uploads:
        await session.delete(upload)
    await session.flush()
    known = await repository.upload_tokens(session)

    def sweep() -> None:
        for token in tokens:
            remove_files(settings, token)
        root = settings.media_dir / "hls"
        if root.exists():
            for folder in root.iterdir():
                if folder.name not in known:
                    transcode.remove(folder)
        for part in settings.upload_staging_dir.glob("video-*.part"):
            if part.name.removeprefix("video-").removesuffix(".part") not in known:
                part.unlink(missing_ok=True)

    await anyio.to_thread.run_sync(sweep)
    return len(uploads)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
