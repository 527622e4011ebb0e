"""Every FastAPI dependency is `async def`: a plain `def` one runs in a worker thread, a thread hop per request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from tests.conftest import make_settings
from watchparty.app import create_app


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute | APIWebSocketRoute]:
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's include_router keeps the router
        if included is not None:
            yield from _api_routes(included.routes)


def _is_async(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    if inspect.isfunction(call) or inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(type(call).__call__)  # instances such as HTTPBearer()


def test_every_dependency_is_async(tmp_path: Path) -> None:
    app = create_app(make_settings("sqlite+aiosqlite://", tmp_path))
    seen: dict[str, bool] = {}
    for route in _api_routes(app.routes):
        for dep in _dependencies(route.dependant):
            if dep.call is not None:
                seen[getattr(dep.call, "__qualname__", repr(dep.call))] = _is_async(dep.call)
    assert len(seen) >= 8, seen  # the walk found the project's dependencies
    assert [name for name, ok in seen.items() if not ok] == []
