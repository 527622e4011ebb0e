"""Use cases on the movie catalogue."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.cache import invalidate
from watchparty.core.clock import iso_z, utcnow
from watchparty.core.deps import Services
from watchparty.core.errors import PayloadTooLarge
from watchparty.core.responses import encode_json
from watchparty.core.schemas import PageParams, pagination
from watchparty.jobs import outbox
from watchparty.jobs.queues import HIGH_PRIORITY, MEDIA
from watchparty.models import Movie, Subtitle, User, UserRole
from watchparty.movies import probe, repository, subtitles
from watchparty.movies.errors import (
    InvalidSubtitle,
    MediaRefused,
    MovieNotFound,
    NotMovieOwner,
    SubtitleNotFound,
    TooManySubtitles,
)
from watchparty.movies.schemas import MediaCheck, MovieCreate, MovieRead, MovieUpdate, SubtitleRead
from watchparty.movies.subtitles import MAX_SUBTITLE_BYTES

MAX_TRACKS = 20  # subtitle tracks per movie

_REQUIRED = {"title", "video_url"}


async def list_movies(services: Services, page: PageParams, q: str | None) -> bytes:
    """The catalogue, newest first: a `Page[MovieRead]`, encoded. A hot read (ADR 0012): one statement on an
    autocommit connection, rows encoded straight to JSON."""
    async with services.db.read() as conn:
        rows, total = await repository.page_of_movies(conn, q=q, offset=page.offset, limit=page.limit)
    return encode_json({"success": True, "data": [movie_json(r) for r in rows], "pagination": pagination(page, total)})


async def movie_body(services: Services, movie_id: int) -> bytes | None:
    """One movie as `Envelope[MovieRead]`, encoded (a hot read); None when there is no such movie."""
    async with services.db.read() as conn:
        row = await repository.movie_row(conn, movie_id)
    return None if row is None else encode_json({"success": True, "data": movie_json(row)})


def movie_json(row: RowMapping) -> dict[str, Any]:
    """A movie row (the hot reads' columns) as MovieRead's wire form."""
    return {
        **summary_json(row, prefix=""),
        "description": row["description"],
        "year": row["year"],
        "genres": row["genres"],
        "createdBy": row["created_by"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


async def get_movie(session: AsyncSession, movie_id: int) -> Movie:
    movie = await repository.get_movie(session, movie_id)
    if movie is None:
        raise MovieNotFound()
    return movie


async def create_movie(session: AsyncSession, user: User, data: MovieCreate) -> Movie:
    fields = data.model_dump(exclude={"local_file"})
    local = data.local_file
    if local is not None:  # nothing to fetch: each viewer's browser checks their own copy against these facts
        fields |= {"video_url": f"local:{local.fingerprint}", "duration_seconds": max(1, round(local.duration))}
    movie = Movie(**fields, created_by=user.id)
    session.add(movie)
    await session.flush()
    if local is None:
        await ask_check(session, movie)
    else:
        movie.check_status = "ready"
        movie.media_check = {"code": "ok", "message": "Each viewer plays their own copy of the file.", "kind": "local",
                             "duration": local.duration, "localFile": local.model_dump(by_alias=True)}  # fmt: skip
    invalidate(session, "movies")
    return movie


# -- the media check (ADR 0017) ------------------------------------------------------------------------------------


async def ask_check(session: AsyncSession, movie: Movie) -> None:
    """Mark the movie as being checked and queue its check, in this transaction: the one place a check starts."""
    movie.check_status, movie.media_check = "checking", None
    await outbox.enqueue(
        session, MEDIA, "check", {"movieId": movie.id, "url": movie.video_url}, priority=HIGH_PRIORITY,
        owner_id=movie.created_by,
    )  # fmt: skip


async def apply_verdict(session: AsyncSession, movie_id: int, url: str, status: str, facts: dict[str, Any]) -> bool:
    """The check's verdict on the movie, if it still has the URL that was checked (a newer URL has its own check).
    A duration the catalogue lacks is taken from the check. Returns whether it was applied."""
    movie = await repository.get_movie(session, movie_id)
    if movie is None or movie.video_url != url:
        return False
    movie.check_status = status
    movie.media_check = {**facts, "checkedAt": iso_z(utcnow())}
    if movie.duration_seconds is None and facts.get("duration"):
        movie.duration_seconds = max(1, round(facts["duration"]))
    await session.flush()
    invalidate(session, "movies", f"movie:{movie_id}", "catalog")
    return True


async def recheck_stale(session: AsyncSession, checking_since: datetime) -> int:
    """Queue a new check for each movie still "checking" since before `checking_since` (its job was lost, or it
    predates the check). The cleanup job calls it."""
    movies = await repository.checking_since(session, checking_since)
    for movie in movies:
        await ask_check(session, movie)
    return len(movies)


def require_playable(movie: Movie) -> Movie:
    """A refused movie is never set on a room or queued: the check's own words say why."""
    if movie.check_status == "refused":
        raise MediaRefused((movie.media_check or {}).get("message") or MediaRefused.message)
    return movie


def summary_json(row: RowMapping, prefix: str = "movie_") -> dict[str, Any]:
    """A movie as a room or a playlist item shows it (MovieSummary's wire form), from a row whose `movie_…`
    columns the rooms repository selects (or, with no prefix, the movies' own hot reads): the one place that maps
    them."""
    return {
        "id": row[f"{prefix}id"],
        "title": row[f"{prefix}title"],
        "posterUrl": row[f"{prefix}poster_url"],
        "videoUrl": row[f"{prefix}video_url"],
        "durationSeconds": row[f"{prefix}duration_seconds"],
        "check": MediaCheck.of(row[f"{prefix}check_status"], row[f"{prefix}media_check"]).model_dump(by_alias=True),
    }


async def update_movie(session: AsyncSession, user: User, movie_id: int, data: MovieUpdate) -> Movie:
    movie = await _owned_movie(session, user, movie_id)
    old_url = movie.video_url
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in _REQUIRED:
            continue  # required fields cannot be cleared
        setattr(movie, field, [] if field == "genres" and value is None else value)
    if movie.video_url != old_url:
        await ask_check(session, movie)
    await session.flush()
    invalidate(session, "movies", f"movie:{movie_id}", "catalog")
    return movie


async def delete_movie(session: AsyncSession, user: User, movie_id: int) -> None:
    movie = await _owned_movie(session, user, movie_id)
    await session.delete(movie)
    await session.flush()
    invalidate(session, "movies", f"movie:{movie_id}", "catalog")


async def _owned_movie(session: AsyncSession, user: User, movie_id: int) -> Movie:
    movie = await get_movie(session, movie_id)
    if movie.created_by != user.id and user.role != UserRole.ADMIN:
        raise NotMovieOwner()
    return movie


async def catalogue_urls(session: AsyncSession, user: User, entries: list[tuple[str, str]]) -> list[Movie]:
    """The catalogue movie of each (url, title): the one already there with that video URL, else a new one (added
    by `user`). One read for all of them, so an import of hundreds of lines is one query and one insert."""
    known: dict[str, Movie] = {}
    for movie in await repository.by_video_urls(session, [url for url, _ in entries]):
        known.setdefault(movie.video_url, movie)
    created = []
    for url, title in entries:
        if url not in known:
            known[url] = Movie(title=title, video_url=url, genres=[], created_by=user.id)
            session.add(known[url])
            created.append(known[url])
    if created:
        await session.flush()
        for movie in created:
            await ask_check(session, movie)
        invalidate(session, "movies")
    return [known[url] for url, _ in entries]


def to_read(movie: Movie) -> MovieRead:
    return MovieRead.model_validate(movie)


# -- subtitles (ADR 0018) ------------------------------------------------------------------------------------------


async def add_subtitle(
    session: AsyncSession, user: User, movie_id: int, raw: bytes, *, label: str, language: str | None,
    filename: str | None = None,
) -> Subtitle:  # fmt: skip
    """A subtitle file for a movie, converted to WebVTT off the event loop; refused in words if it cannot be."""
    movie = await get_movie(session, movie_id)
    if len(raw) > MAX_SUBTITLE_BYTES:
        raise PayloadTooLarge.over(MAX_SUBTITLE_BYTES, "The subtitle file", "file")
    try:
        vtt, fmt, encoding, cues = await anyio.to_thread.run_sync(subtitles.to_vtt, raw, filename)
    except subtitles.SubtitleRejected as exc:
        raise InvalidSubtitle(str(exc)) from None
    if await repository.count_subtitles(session, movie.id) >= MAX_TRACKS:
        raise TooManySubtitles()
    track = Subtitle(movie_id=movie.id, label=label, language=language, vtt=vtt, source_format=fmt,
                     source_encoding=encoding, cues=cues, created_by=user.id)  # fmt: skip
    session.add(track)
    await session.flush()
    return track


async def fetch_subtitle(settings: Settings, url: str) -> bytes:
    """A subtitle file by its URL, fetched as the media check fetches (no private address unless allowed, every
    redirect checked, one deadline), and no more than the size limit."""

    def get() -> bytes:
        fetcher = probe.Fetcher(
            allow_private=settings.media_check_allow_private, deadline=time.monotonic() + settings.media_check_timeout_s
        )
        try:
            _, response, body = fetcher.get(url, limit=MAX_SUBTITLE_BYTES + 1)
        except probe.Refused as exc:
            raise InvalidSubtitle(f"The subtitle file could not be fetched: {exc.message}") from None
        finally:
            fetcher.close()
        if response.status_code >= 400:
            raise InvalidSubtitle(f"The subtitle file could not be fetched (its server says {response.status_code}).")
        return body

    return await anyio.to_thread.run_sync(get)


async def list_subtitles(session: AsyncSession, movie_id: int) -> list[SubtitleRead]:
    await get_movie(session, movie_id)
    return [SubtitleRead.model_validate(t) for t in await repository.subtitles_of(session, movie_id)]


async def subtitle_vtt(session: AsyncSession, movie_id: int, subtitle_id: int) -> str:
    track = await repository.get_subtitle(session, movie_id, subtitle_id)
    if track is None:
        raise SubtitleNotFound()
    return track.vtt


async def delete_subtitle(session: AsyncSession, user: User, movie_id: int, subtitle_id: int) -> None:
    """By whoever added it, the movie's creator, or an administrator."""
    track = await repository.get_subtitle(session, movie_id, subtitle_id)
    if track is None:
        raise SubtitleNotFound()
    movie = await get_movie(session, movie_id)
    if user.id not in (track.created_by, movie.created_by) and user.role != UserRole.ADMIN:
        raise NotMovieOwner("Only who added the track, the movie's creator or an administrator can remove it")
    await session.delete(track)
    await session.flush()
