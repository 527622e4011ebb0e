"""All SQL about movies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, RowMapping, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from watchparty.core.db import like_pattern, page_and_total
from watchparty.models import MediaUpload, Movie, Subtitle

# The hot reads (ADR 0012): the columns MovieRead shows, statements built once, values bound.
_COLUMNS: tuple[Any, ...] = (
    Movie.id,
    Movie.title,
    Movie.poster_url,
    Movie.video_url,
    Movie.duration_seconds,
    Movie.check_status,
    Movie.media_check,
    Movie.description,
    Movie.year,
    Movie.genres,
    Movie.created_by,
    Movie.created_at,
    Movie.updated_at,
)
_ONE: Select[Any] = select(*_COLUMNS).where(Movie.id == bindparam("movie_id", type_=Integer))


def _matching(movie: Any, search: bool) -> list[Any]:
    return [func.lower(movie.title).like(bindparam("pattern"), escape="/")] if search else []


def _total(search: bool) -> Select[Any]:
    counted = aliased(Movie)  # its own FROM: not correlated with the listed movies
    return select(func.count()).select_from(counted).where(*_matching(counted, search))


def _page(search: bool) -> Select[Any]:
    """A page of the catalogue with the total as an uncorrelated scalar subquery, which PostgreSQL runs once."""
    return (
        select(*_COLUMNS, _total(search).scalar_subquery().label("total"))
        .where(*_matching(Movie, search))
        .order_by(Movie.created_at.desc(), Movie.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


_PAGE = {False: _page(False), True: _page(True)}
_TOTAL = {False: _total(False), True: _total(True)}


async def movie_row(conn: AsyncConnection, movie_id: int) -> RowMapping | None:
    row: RowMapping | None = (await conn.execute(_ONE, {"movie_id": movie_id})).mappings().first()
    return row


async def page_of_movies(
    conn: AsyncConnection, *, q: str | None, offset: int, limit: int
) -> tuple[Sequence[RowMapping], int]:
    """A page of the catalogue, newest first, and the total: one round trip (two past the last page)."""
    search = bool(q)
    params: dict[str, Any] = {"offset": offset, "limit": limit}
    if q:
        params["pattern"] = like_pattern(q)
    return await page_and_total(conn, _PAGE[search], _TOTAL[search], params)


async def get_movie(session: AsyncSession, movie_id: int) -> Movie | None:
    return await session.get(Movie, movie_id)


async def by_video_urls(session: AsyncSession, urls: Sequence[str]) -> Sequence[Movie]:
    """Catalogue movies whose video URL is one of `urls` (the oldest first, when several share one)."""
    if not urls:
        return []
    stmt = select(Movie).where(Movie.video_url.in_(set(urls))).order_by(Movie.id)
    return (await session.scalars(stmt)).all()


async def checking_since(session: AsyncSession, before: datetime, limit: int = 500) -> Sequence[Movie]:
    stmt = select(Movie).where(Movie.check_status == "checking", Movie.updated_at < before).order_by(Movie.id)
    return (await session.scalars(stmt.limit(limit))).all()


async def subtitles_of(session: AsyncSession, movie_id: int) -> Sequence[Subtitle]:
    stmt = select(Subtitle).where(Subtitle.movie_id == movie_id).order_by(Subtitle.label, Subtitle.id)
    return (await session.scalars(stmt)).all()


async def count_subtitles(session: AsyncSession, movie_id: int) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Subtitle).where(Subtitle.movie_id == movie_id)) or 0
    )


async def get_subtitle(session: AsyncSession, movie_id: int, subtitle_id: int) -> Subtitle | None:
    track = await session.get(Subtitle, subtitle_id)
    return track if track is not None and track.movie_id == movie_id else None


async def get_upload(session: AsyncSession, upload_id: int, *, for_update: bool = False) -> MediaUpload | None:
    """The upload; `for_update` holds its row (two chunks of one upload never interleave) and reads it afresh."""
    if not for_update:
        return await session.get(MediaUpload, upload_id)
    stmt = select(MediaUpload).where(MediaUpload.id == upload_id).with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def uploads_of(session: AsyncSession, owner_id: int, limit: int = 50) -> Sequence[MediaUpload]:
    stmt = select(MediaUpload).where(MediaUpload.owner_id == owner_id)
    return (await session.scalars(stmt.order_by(MediaUpload.id.desc()).limit(limit))).all()


async def quota_used(session: AsyncSession, owner_id: int) -> int:
    """Bytes counted against the owner's quota: the sizes of their uploads that have not failed."""
    stmt = select(func.coalesce(func.sum(MediaUpload.size), 0)).where(
        MediaUpload.owner_id == owner_id, MediaUpload.status != "failed"
    )
    return int(await session.scalar(stmt) or 0)


async def removable_uploads(session: AsyncSession, stale_before: datetime, limit: int = 500) -> Sequence[MediaUpload]:
    """Uploads whose files can go: finished ones that no catalogue entry refers to any more (rooms and playlists
    refer to the catalogue entry), failed ones, and unfinished ones not touched since `stale_before`."""
    gone = MediaUpload.status.in_(("ready", "failed")) & MediaUpload.movie_id.is_(None)
    stale = (MediaUpload.status == "receiving") & (MediaUpload.updated_at < stale_before)
    stmt = select(MediaUpload).where(gone | stale).order_by(MediaUpload.id).limit(limit)
    return (await session.scalars(stmt)).all()


async def upload_tokens(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(MediaUpload.token))).all())
