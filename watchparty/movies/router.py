"""HTTP routes under /api/movies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from watchparty.auth.deps import AccountUser
from watchparty.core.deps import DbSession
from watchparty.core.schemas import Envelope, MovieId, Page, PageParams, page_params
from watchparty.core.validators import SearchText
from watchparty.movies import service as movies_service
from watchparty.movies.schemas import MovieCreate, MovieRead, MovieUpdate

router = APIRouter(prefix="/movies", tags=["movies"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("")
async def list_movies(
    session: DbSession, paging: Paging, q: Annotated[SearchText | None, Query(description="title contains")] = None
) -> Page[MovieRead]:
    """The catalogue, newest first, optionally filtered by title."""
    return await movies_service.list_movies(session, paging, q)


@router.get("/{movie_id}")
async def get_movie(movie_id: MovieId, session: DbSession) -> Envelope[MovieRead]:
    """One movie."""
    return Envelope(data=movies_service.to_read(await movies_service.get_movie(session, movie_id)))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_movie(data: MovieCreate, user: AccountUser, session: DbSession) -> Envelope[MovieRead]:
    """Add a movie to the catalogue."""
    return Envelope(data=movies_service.to_read(await movies_service.create_movie(session, user, data)))


@router.put("/{movie_id}")
async def update_movie(
    movie_id: MovieId, data: MovieUpdate, user: AccountUser, session: DbSession
) -> Envelope[MovieRead]:
    """Change a movie (its creator or an administrator)."""
    movie = await movies_service.update_movie(session, user, movie_id, data)
    return Envelope(data=movies_service.to_read(movie))


@router.delete("/{movie_id}")
async def delete_movie(movie_id: MovieId, user: AccountUser, session: DbSession) -> Envelope[None]:
    """Remove a movie (its creator or an administrator). Rooms showing it keep running without a movie."""
    await movies_service.delete_movie(session, user, movie_id)
    return Envelope(data=None)
