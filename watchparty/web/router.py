"""The web client's pages. Each path below answers with the same shell; the client reads the path and shows
the page. Paths in emails (`/reset-password?token=…`, `/invite/{token}?room=…`) are among them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from watchparty.core.middleware import APP_PAGE_HEADERS
from watchparty.web import STATIC_DIR

router = APIRouter(include_in_schema=False)
SHELL = STATIC_DIR / "app" / "index.html"
PAGES = (
    "/",
    "/signin",
    "/signup",
    "/forgot-password",
    "/reset-password",
    "/rooms/new",
    "/rooms/{room_id:int}",
    "/invite/{token}",
    "/profile",
)


async def shell() -> FileResponse:
    return FileResponse(SHELL, media_type="text/html; charset=utf-8", headers=APP_PAGE_HEADERS)


for page in PAGES:
    router.add_api_route(page, shell, methods=["GET"])
