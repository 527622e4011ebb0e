"""The web client's pages. Each path below answers with the same shell; the client reads the path and shows
the page. Paths in emails (`/reset-password?token=…`, `/invite/{token}?room=…`) are among them."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from watchparty.core.deps import AppServices
from watchparty.core.errors import NotFound
from watchparty.core.middleware import APP_PAGE_HEADERS, VENDOR_HEADERS
from watchparty.core.responses import handle_http_error
from watchparty.core.validators import origin_of
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

# Paths that are never the web client's pages: their 404 stays the JSON envelope (or the static file's answer).
NOT_PAGES = ("/api/", "/media/", "/app/", "/admin/", "/sample/", "/docs", "/openapi.json", "/metrics")


async def handle_http_error_or_page(request: Request, exc: Exception) -> Response:
    """The application's HTTP errors; an unknown path that a browser asks for as a page gets the web client's
    shell with status 404, which shows its "page not found" page instead of raw JSON."""
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    if (
        exc.status_code == 404
        and request.method in ("GET", "HEAD")
        and not path.startswith(NOT_PAGES)
        and "text/html" in request.headers.get("accept", "")
    ):
        return FileResponse(SHELL, status_code=404, media_type="text/html; charset=utf-8", headers=APP_PAGE_HEADERS)
    return await handle_http_error(request, exc)


# The client's libraries, from the npm registry (package.json, pinned in package-lock.json; `make` runs `npm ci`),
# served from node_modules as the package ships them: nothing is copied into the tree.
VENDOR = {
    "hls.mjs": "hls.js/dist/hls.min.mjs",
    "hls.worker.js": "hls.js/dist/hls.worker.js",
    # Noto Color Emoji (SIL OFL 1.1), in subsets by unicode-range: a browser fetches only those of the emoji on the
    # page, and reactions show on a machine without an emoji font of its own
    "emoji.css": "@fontsource/noto-color-emoji/index.css",
}
EMOJI_FILES = "@fontsource/noto-color-emoji/files"
_EMOJI_FILE = re.compile(r"noto-color-emoji-\d+-400-normal\.woff2?")
_TYPES = {".mjs": "text/javascript; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".woff2": "font/woff2", ".woff": "font/woff"}  # fmt: skip


def _vendor_file(path: Path | None, name: str) -> FileResponse:
    if path is None or not path.is_file():
        raise NotFound(f"{name} is not installed on this server (make installs the web client's libraries)")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=VENDOR_HEADERS)


@router.get("/app/vendor/{name}")
async def vendor(name: str) -> FileResponse:
    return _vendor_file(VENDOR_DIR / VENDOR[name] if name in VENDOR else None, name)


@router.get("/app/vendor/files/{name}")
async def vendor_font(name: str) -> FileResponse:
    """The emoji font's files, which emoji.css names relative to itself."""
    return _vendor_file(VENDOR_DIR / EMOJI_FILES / name if _EMOJI_FILE.fullmatch(name) else None, name)


# The YouTube player's page (ADR 0019): the one page that loads YouTube's IFrame Player API, framed by the room page
# (same origin), with a policy that lets in YouTube's script and frame and nothing else of theirs.
YOUTUBE_FRAMES = "https://www.youtube.com https://www.youtube-nocookie.com"
YOUTUBE_SCRIPTS = "https://www.youtube.com https://s.ytimg.com"


@router.get("/app/youtube-frame")
async def youtube_frame(services: AppServices) -> HTMLResponse:
    api = services.settings.youtube_api_url
    scripts = " ".join(dict.fromkeys([*YOUTUBE_SCRIPTS.split(), origin_of(api)]))
    csp = (
        f"default-src 'none'; script-src 'self' {scripts}; frame-src {YOUTUBE_FRAMES}; style-src 'self'; "
        "img-src https://i.ytimg.com data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>YouTube player</title>'
        '<link rel="stylesheet" href="/app/youtube-frame.css"></head><body><div id="player"></div>'
        '<script src="/app/js/youtube-frame.js"></script>'
        f'<script src="{html.escape(api, quote=True)}"></script></body></html>'
    )
    headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "origin",
               "Cache-Control": "no-cache"}  # fmt: skip
    return HTMLResponse(page, headers=headers)
