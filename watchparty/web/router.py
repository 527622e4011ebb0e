"""The web client's pages. Each path below answers with the same shell; the client reads the path and shows
the page. Paths in emails (`/reset-password?token=…`, `/invite/{token}?room=…`) are among them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from watchparty.core.errors import NotFound
from watchparty.core.middleware import APP_PAGE_HEADERS, VENDOR_HEADERS
from watchparty.web import STATIC_DIR, VENDOR_DIR

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

# The client's libraries, from the npm registry (package.json, pinned in package-lock.json; `make` runs `npm ci`),
# served from node_modules as the package ships them: nothing is copied into the tree.
VENDOR = {
    "hls.mjs": "hls.js/dist/hls.min.mjs",
    "hls.worker.js": "hls.js/dist/hls.worker.js",
}


@router.get("/app/vendor/{name}")
async def vendor(name: str) -> FileResponse:
    path = VENDOR_DIR / VENDOR[name] if name in VENDOR else None
    if path is None or not path.is_file():
        raise NotFound(f"{name} is not installed on this server (make installs the web client's libraries)")
    return FileResponse(path, media_type="text/javascript; charset=utf-8", headers=VENDOR_HEADERS)
