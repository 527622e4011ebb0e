"""An upload against a real `watchparty serve`: a chunk cut off mid-body (the connection closes after half its
bytes) keeps nothing, and the upload resumes from where the server stands. (The transcode that follows is tested
in tests/integration/test_uploads.py and, with a killed worker, in test_worker_kill.py.)"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import LiveServer
from tests.e2e.live import user
from tests.media import make_clip

pytestmark = pytest.mark.slow


def cut_off_put(server: LiveServer, path: str, headers: dict[str, str], declared: int, sent: bytes) -> None:
    """A PUT that promises `declared` bytes, sends `sent`, and hangs up."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        head = [f"PUT {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/octet-stream",
                f"Content-Length: {declared}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]  # fmt: skip
        conn.sendall("\r\n".join(head).encode() + sent)


async def test_a_chunk_cut_off_mid_body_keeps_nothing_and_the_upload_resumes(
    live_server: LiveServer, tmp_path: Path
) -> None:
    data = make_clip(tmp_path, seconds=4).read_bytes()
    headers = await user(live_server, "una_up")
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers, timeout=30) as http:
        r = await http.post("/api/uploads", json={"title": "Cut", "filename": "cut.mp4", "size": len(data)})
        assert r.status_code == 201, r.text
        upload_id, half = r.json()["data"]["id"], len(data) // 2
        put = {"Content-Type": "application/octet-stream"}
        r = await http.put(f"/api/uploads/{upload_id}", params={"offset": 0}, content=data[:1000], headers=put)
        assert r.json()["data"]["received"] == 1000
        await asyncio.to_thread(cut_off_put, live_server, f"/api/uploads/{upload_id}?offset=1000", headers,
                                half, data[1000 : half // 2])  # fmt: skip
        await asyncio.sleep(1)  # room for a server that (wrongly) kept a cut-off chunk to count it
        r = await http.get(f"/api/uploads/{upload_id}")
        assert r.json()["data"]["received"] == 1000, "nothing of the cut-off chunk counts"
        offset = 1000
        while offset < len(data) - 1:
            r = await http.put(f"/api/uploads/{upload_id}", params={"offset": offset},
                               content=data[offset : min(offset + 100_000, len(data) - 1)], headers=put)  # fmt: skip
            assert r.status_code == 200, r.text
            offset = r.json()["data"]["received"]
        (staged,) = (live_server.workdir / "var" / "staging").glob("video-*.part")
        assert staged.read_bytes() == data[:-1], "byte for byte what was sent, the cut-off bytes overwritten"
        r = await http.put(f"/api/uploads/{upload_id}", params={"offset": offset}, content=data[-1:], headers=put)
        assert r.json()["data"]["status"] == "processing", "the last byte queued the transcode"
