"""GET /api/movies and GET /api/movies/{id} are cached."""

from __future__ import annotations

from collections.abc import Mapping

from watchparty.core.http_cache import CachedRoute, IntParam, authorize_public

PAGE_PARAMS = (IntParam("page", 1, 1, 20), IntParam("limit", 10, 1, 100))


def _list_tags(_path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return ("movies",)


def _movie_tags(path: Mapping[str, int], _access: str) -> tuple[str, ...]:
    return (f"movie:{path['movie_id']}",)


ROUTES = [
    CachedRoute(
        "movies",
        "/api/movies",
        lambda s: s.cache_ttl_movies,
        authorize_public,
        _list_tags,
        PAGE_PARAMS,
        frozenset({"q"}),
    ),
    CachedRoute("movie", "/api/movies/{movie_id}", lambda s: s.cache_ttl_movie, authorize_public, _movie_tags),
]
