"""The web client's pages and files as the app serves them (the browser tests drive them in Chromium)."""

from __future__ import annotations

import re

import httpx
import pytest

from watchparty.core.deps import Services
from watchparty.movies.demo import SAMPLE_VIDEO_PATH, ensure_demo_movie
from watchparty.web.router import PAGES

CLIENT_PATHS = [p.replace("{room_id:int}", "12").replace("{token}", "abc-DEF_123") for p in PAGES]


@pytest.mark.parametrize("path", [*CLIENT_PATHS, "/reset-password?token=x", "/invite/t0k3n?room=4"])
async def test_every_client_path_serves_the_shell(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-content-type-options"] == "nosniff"  # issue 19, item 14: the pages too
    assert '<script type="module" src="/app/js/main.js">' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "media-src 'self' https: http: blob:" in csp  # a movie added by its URL may live anywhere; HLS: MSE
    assert "connect-src 'self' https: http:" in csp  # hls.js fetches an HLS stream's playlists and segments
    assert "worker-src 'self'" in csp  # ... with its worker from this origin, never a blob
    assert "script-src" not in csp  # scripts: this origin only (default-src), never inline
    assert r.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/rooms/abc", "/rooms/12/extra", "/nothing-here", "/app/js/missing.js"])
async def test_other_paths_are_404_in_the_envelope(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.json()["success"] is False


async def test_scripts_and_styles_are_served_with_their_types(client: httpx.AsyncClient) -> None:
    for path, kind in [("/app/js/main.js", "javascript"), ("/app/js/sync.js", "javascript"), ("/app/app.css", "css")]:
        r = await client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_the_clients_npm_libraries_are_served_from_node_modules(client: httpx.AsyncClient) -> None:
    """hls.js as package-lock.json pins it (make installs node_modules): the ES module and its worker."""
    for path in ("/app/vendor/hls.mjs", "/app/vendor/hls.worker.js"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "export" in (await client.get("/app/vendor/hls.mjs")).text[-2000:]  # the ES module build
    r = await client.get("/app/vendor/anything.js")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"  # only what the client uses
    # the emoji font: its stylesheet, and the subset files it names relative to itself
    css = await client.get("/app/vendor/emoji.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    first = re.search(r"url\(\./(files/[\w-]+\.woff2)\)", css.text)
    assert first, css.text[:300]
    font = await client.get(f"/app/vendor/{first.group(1)}")
    assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
    assert font.content[:4] == b"wOF2"
    for name in ("files/..%2F..%2Fpackage.json", "files/anything.woff2", "files/noto-color-emoji-1-400-normal.css"):
        assert (await client.get(f"/app/vendor/{name}")).status_code == 404, name


async def test_the_sample_clip_is_served_in_ranges(client: httpx.AsyncClient) -> None:
    whole = await client.get(SAMPLE_VIDEO_PATH)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/webm"
    assert 100_000 < len(whole.content) < 2_000_000  # a few seconds, small enough to ship
    part = await client.get(SAMPLE_VIDEO_PATH, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]  # seeking needs ranges


async def test_the_demo_movie_is_added_once(services: Services, client: httpx.AsyncClient) -> None:
    async with services.db.session() as session:
        first, added = await ensure_demo_movie(session)
    assert added
    async with services.db.session() as session:
        again, added_again = await ensure_demo_movie(session)
    assert not added_again and again.id == first.id
    movies = (await client.get("/api/movies")).json()["data"]
    assert [m["videoUrl"] for m in movies] == [SAMPLE_VIDEO_PATH]


async def test_only_the_youtube_frame_lets_youtube_in(client: httpx.AsyncClient) -> None:
    """ADR 0019: YouTube's API script loads in /app/youtube-frame alone, framed by our own pages only."""
    r = await client.get("/app/youtube-frame")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self' https://www.youtube.com https://s.ytimg.com" in csp
    assert "frame-src https://www.youtube.com https://www.youtube-nocookie.com" in csp
    assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp
    assert '<script src="https://www.youtube.com/iframe_api"></script>' in r.text
    shell = (await client.get("/rooms/1")).headers["content-security-policy"]
    assert "youtube" not in shell
