"""GET /api/movies and GET /api/movies/{id} are cached."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, CacheRequest, IntParam, authorize_public
from watchparty.core.schemas import PageParams
from watchparty.movies import service as movies_service

PAGE_PARAMS = (IntParam("page", 1, 1, 20), IntParam("limit", 10, 1, 100))


def _list_tags(_path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return ("movies",)


def _movie_tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return (f"movie:{path['movie_id']}",)


async def _load_list(request: CacheRequest, values: Mapping[str, int]) -> bytes | None:
    """The catalogue for canonical paging (no search): what the route answers, without the route (ADR 0012)."""
    return await movies_service.list_movies(
        request.services, PageParams(page=values["page"], limit=values["limit"]), None
    )


async def _load_movie(request: CacheRequest, _values: Mapping[str, int]) -> bytes | None:
    return await movies_service.movie_body(request.services, request.path_params["movie_id"])


ROUTES = [
    CachedRoute(
        "movies",
        "/api/movies",
        lambda s: s.cache_ttl_movies,
        authorize_public,
        _list_tags,
        PAGE_PARAMS,
        frozenset({"q"}),
        load=_load_list,
    ),
    CachedRoute(
        "movie",
        "/api/movies/{movie_id}",
        lambda s: s.cache_ttl_movie,
        authorize_public,
        _movie_tags,
        load=_load_movie,
    ),
]
