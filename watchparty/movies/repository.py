"""All SQL about movies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.models import Movie, Subtitle


async def get_movie(session: AsyncSession, movie_id: int) -> Movie | None:
    return await session.get(Movie, movie_id)


def _filtered(stmt: Select[Any], q: str | None) -> Select[Any]:
    if q:
        stmt = stmt.where(func.lower(Movie.title).contains(q.lower(), autoescape=True))
    return stmt


async def list_movies(session: AsyncSession, *, q: str | None, offset: int, limit: int) -> Sequence[Movie]:
    stmt = _filtered(select(Movie), q).order_by(Movie.created_at.desc(), Movie.id.desc()).offset(offset).limit(limit)
    return (await session.scalars(stmt)).all()


async def count_movies(session: AsyncSession, *, q: str | None) -> int:
    stmt = _filtered(select(func.count()).select_from(Movie), q)
    return int(await session.scalar(stmt) or 0)


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
