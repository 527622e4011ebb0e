"""Use cases on the movie catalogue."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.schemas import Page, PageParams
from watchparty.models import Movie, User, UserRole
from watchparty.movies import repository
from watchparty.movies.errors import MovieNotFound, NotMovieOwner
from watchparty.movies.schemas import MovieCreate, MovieRead, MovieUpdate

_REQUIRED = {"title", "video_url"}


async def list_movies(session: AsyncSession, page: PageParams, q: str | None) -> Page[MovieRead]:
    movies = await repository.list_movies(session, q=q, offset=page.offset, limit=page.limit)
    total = await repository.count_movies(session, q=q)
    return Page.of([MovieRead.model_validate(m) for m in movies], page=page.page, limit=page.limit, total=total)


async def get_movie(session: AsyncSession, movie_id: int) -> Movie:
    movie = await repository.get_movie(session, movie_id)
    if movie is None:
        raise MovieNotFound()
    return movie


async def create_movie(session: AsyncSession, user: User, data: MovieCreate) -> Movie:
    movie = Movie(**data.model_dump(), created_by=user.id)
    session.add(movie)
    await session.flush()
    invalidate(session, "movies")
    return movie


async def update_movie(session: AsyncSession, user: User, movie_id: int, data: MovieUpdate) -> Movie:
    movie = await _owned_movie(session, user, movie_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in _REQUIRED:
            continue  # required fields cannot be cleared
        setattr(movie, field, [] if field == "genres" and value is None else value)
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
    created = False
    for url, title in entries:
        if url not in known:
            known[url] = Movie(title=title, video_url=url, genres=[], created_by=user.id)
            session.add(known[url])
            created = True
    if created:
        await session.flush()
        invalidate(session, "movies")
    return [known[url] for url, _ in entries]


def to_read(movie: Movie) -> MovieRead:
    return MovieRead.model_validate(movie)
