"""HTTP routes under /api/movies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile, status
from fastapi.responses import Response

from watchparty.auth.deps import AccountUser
from watchparty.core.deps import AppServices, DbSession
from watchparty.core.responses import EncodedJSON
from watchparty.core.schemas import Envelope, ErrorEnvelope, MovieId, Page, PageParams, page_params
from watchparty.core.validators import Language, SearchText, TrackLabel
from watchparty.movies import service as movies_service
from watchparty.movies.errors import MovieNotFound
from watchparty.movies.schemas import MovieCreate, MovieRead, MovieUpdate, SubtitleByUrl, SubtitleRead
from watchparty.movies.subtitles import MAX_SUBTITLE_BYTES

router = APIRouter(prefix="/movies", tags=["movies"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("", response_model=Page[MovieRead])
async def list_movies(
    services: AppServices,
    paging: Paging,
    q: Annotated[SearchText | None, Query(description="title contains")] = None,
) -> EncodedJSON:
    """The catalogue, newest first, optionally filtered by title."""
    return EncodedJSON(await movies_service.list_movies(services, paging, q))  # a hot read (ADR 0012)


@router.get("/{movie_id}", response_model=Envelope[MovieRead])
async def get_movie(movie_id: MovieId, services: AppServices) -> EncodedJSON:
    """One movie."""
    body = await movies_service.movie_body(services, movie_id)  # a hot read (ADR 0012)
    if body is None:
        raise MovieNotFound()
    return EncodedJSON(body)


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


# -- subtitles (ADR 0018) --------------------------------------------------------------------------------------

SubtitleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
VTT_HEADERS = {"Cache-Control": "public, max-age=3600", "Content-Security-Policy": "default-src 'none'",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip


@router.get("/{movie_id}/subtitles")
async def list_subtitles(movie_id: MovieId, session: DbSession) -> Envelope[list[SubtitleRead]]:
    """The movie's subtitle tracks, each served as WebVTT from this origin at its `url`."""
    return Envelope(data=await movies_service.list_subtitles(session, movie_id))


@router.post(
    "/{movie_id}/subtitles",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"model": ErrorEnvelope, "description": "Over 2 MiB"}},
)
async def upload_subtitle(
    movie_id: MovieId,
    user: AccountUser,
    session: DbSession,
    file: Annotated[
        UploadFile, File(description="SRT, WebVTT, ASS or SSA; UTF-8, UTF-16, CP1251 or Latin-1; up to 2 MiB")
    ],
    label: Annotated[TrackLabel, Form(description="what viewers see in the subtitle menu, e.g. English")],
    language: Annotated[Language | None, Form(description="BCP 47, e.g. en or pt-BR")] = None,
) -> Envelope[SubtitleRead]:
    """Add a subtitle track to a movie: converted to WebVTT at once (422 `invalid_subtitle` says why not)."""
    raw = await file.read(MAX_SUBTITLE_BYTES + 1)
    track = await movies_service.add_subtitle(session, user, movie_id, raw, label=label, language=language,
                                              filename=file.filename)  # fmt: skip
    return Envelope(data=SubtitleRead.model_validate(track))


@router.post("/{movie_id}/subtitles/by-url", status_code=status.HTTP_201_CREATED)
async def subtitle_by_url(
    movie_id: MovieId, data: SubtitleByUrl, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[SubtitleRead]:
    """Add a subtitle track by its URL: fetched once by the server (never a private address), then as an upload."""
    await movies_service.get_movie(session, movie_id)
    raw = await movies_service.fetch_subtitle(services.settings, data.url)
    track = await movies_service.add_subtitle(session, user, movie_id, raw, label=data.label, language=data.language,
                                              filename=data.url.split("?")[0])  # fmt: skip
    return Envelope(data=SubtitleRead.model_validate(track))


@router.get(
    "/{movie_id}/subtitles/{subtitle_id}.vtt",
    response_class=Response,
    responses={200: {"content": {"text/vtt": {}}, "description": "The track as WebVTT"}},
)
async def subtitle_vtt(movie_id: MovieId, subtitle_id: SubtitleId, session: DbSession) -> Response:
    """A track as WebVTT, from this origin (so no CORS can block it)."""
    vtt = await movies_service.subtitle_vtt(session, movie_id, subtitle_id)
    return Response(vtt, media_type="text/vtt; charset=utf-8", headers=VTT_HEADERS)


@router.delete("/{movie_id}/subtitles/{subtitle_id}")
async def delete_subtitle(
    movie_id: MovieId, subtitle_id: SubtitleId, user: AccountUser, session: DbSession
) -> Envelope[None]:
    """Remove a track (who added it, the movie's creator, or an administrator)."""
    await movies_service.delete_subtitle(session, user, movie_id, subtitle_id)
    return Envelope(data=None)
