"""The one list of routers, all under /api."""

from fastapi import APIRouter

from watchparty.auth.router import router as auth_router
from watchparty.chat.router import router as chat_router
from watchparty.movies.router import router as movies_router
from watchparty.rooms.router import router as rooms_router
from watchparty.system.router import router as system_router

api_router = APIRouter(prefix="/api")
for router in (system_router, auth_router, rooms_router, movies_router, chat_router):
    api_router.include_router(router)
