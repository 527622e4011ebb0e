"""The one list of routers, all under /api, and the one list of cached routes."""

from fastapi import APIRouter

from watchparty.auth.cache import ROUTES as AUTH_CACHED
from watchparty.auth.router import router as auth_router
from watchparty.chat.cache import ROUTES as CHAT_CACHED
from watchparty.chat.router import router as chat_router
from watchparty.core.http_cache import CachedRoute
from watchparty.movies.cache import ROUTES as MOVIES_CACHED
from watchparty.movies.router import router as movies_router
from watchparty.movies.upload_router import router as uploads_router
from watchparty.ops.router import router as queues_router
from watchparty.rooms.cache import ROUTES as ROOMS_CACHED
from watchparty.rooms.router import router as rooms_router
from watchparty.sync.router import router as sync_router
from watchparty.system.router import router as system_router

api_router = APIRouter(prefix="/api")
# FastAPI tries the included routers in this order: the routers of the hot reads come first (about 9 % of an
# uncached room-list request's CPU was spent matching the routers in front of it).
for router in (rooms_router, chat_router, movies_router, system_router, auth_router, sync_router, queues_router,
               uploads_router):  # fmt: skip
    api_router.include_router(router)

CACHED_ROUTES: list[CachedRoute] = [*ROOMS_CACHED, *MOVIES_CACHED, *CHAT_CACHED, *AUTH_CACHED]
