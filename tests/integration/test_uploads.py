"""Video uploads (ADR 0021): real files made by Debian's ffmpeg, sent in chunks through the API, made into HLS by
the transcode job on the test session's in-process worker (FFmpeg through PyAV), and read back as HLS."""

from __future__ import annotations

import asyncio
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.integration.helpers import Account, register
from tests.media import make_clip, need_ffmpeg
from watchparty.config import Settings
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.models import MediaUpload
from watchparty.movies import uploads

CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("uploads")
    make_clip(root, seconds=6)
    full = make_clip(root, seconds=10, name="ten.mp4")
    data = full.read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])  # the index says 10 s; half the bytes are there
    (root / "text.mp4").write_text("This is a shopping list, not a video.\n" * 100)
    with zipfile.ZipFile(root / "bomb.mp4", "w", zipfile.ZIP_DEFLATED) as z:  # 48 KB that unpack to 50 MB
        z.writestr("movie.mp4", b"\0" * 50_000_000)
    ffmpeg = need_ffmpeg()
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac",
                    str(root / "song.m4a")], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
                    "-c:v", "mpeg4", "-vtag", "XVID", str(root / "xvid.avi")], check=True)  # fmt: skip
    avi = (root / "xvid.avi").read_bytes()  # a codec tag no decoder knows
    (root / "odd.avi").write_bytes(avi.replace(b"XVID", b"ZQZQ").replace(b"FMP4", b"ZQZQ"))
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=size=4000x2400:rate=1:duration=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(root / "huge.mp4")],
                   check=True)  # fmt: skip
    return root


async def start(client: httpx.AsyncClient, who: Account, path: Path, size: int | None = None) -> dict[str, Any]:
    body = {"title": path.stem, "filename": path.name, "size": size or path.stat().st_size}
    r = await client.post("/api/uploads", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    upload: dict[str, Any] = r.json()["data"]
    return upload


async def put(client: httpx.AsyncClient, who: Account, upload_id: int, offset: int, chunk: bytes) -> httpx.Response:
    headers = {**who.headers, "Content-Type": "application/octet-stream"}
    return await client.put(f"/api/uploads/{upload_id}", params={"offset": offset}, content=chunk, headers=headers)


async def send_all(client: httpx.AsyncClient, who: Account, upload: dict[str, Any], data: bytes) -> dict[str, Any]:
    offset = upload["received"]
    while offset < len(data):
        r = await put(client, who, upload["id"], offset, data[offset : offset + CHUNK])
        assert r.status_code == 200, r.text
        offset = r.json()["data"]["received"]
    result: dict[str, Any] = r.json()["data"]
    return result


async def settled(client: httpx.AsyncClient, who: Account, upload_id: int, timeout_s: float = 60) -> dict[str, Any]:
    """The upload once its transcode is done or failed (waited for, up to a deadline)."""
    async with asyncio.timeout(timeout_s):
        while True:
            r = await client.get(f"/api/uploads/{upload_id}", headers=who.headers)
            upload: dict[str, Any] = r.json()["data"]
            if upload["status"] in ("ready", "failed"):
                return upload
            await asyncio.sleep(0.05)


async def upload_file(client: httpx.AsyncClient, who: Account, path: Path) -> dict[str, Any]:
    upload = await start(client, who, path)
    done = await send_all(client, who, upload, path.read_bytes())
    assert done["status"] == "processing"
    return await settled(client, who, upload["id"])


async def test_an_upload_in_chunks_resumes_where_the_server_stands_and_becomes_hls(
    client: httpx.AsyncClient, files: Path, settings: Settings, tmp_path: Path
) -> None:
    ada = await register(client, "ada_up")
    data = (files / "clip.mp4").read_bytes()
    upload = await start(client, ada, files / "clip.mp4")
    assert (upload["status"], upload["received"], upload["chunkBytes"]) == ("receiving", 0, settings.upload_chunk_bytes)
    first = await put(client, ada, upload["id"], 0, data[:CHUNK])
    assert first.json()["data"]["received"] == CHUNK
    # the client lost that answer and sends the chunk again: the server says where it stands, and nothing doubles
    again = await put(client, ada, upload["id"], 0, data[:CHUNK])
    assert again.status_code == 409 and again.json()["error"]["code"] == "upload_offset_mismatch"
    assert again.json()["error"]["details"][0]["expected"] == CHUNK
    ahead = await put(client, ada, upload["id"], 3 * CHUNK, data[3 * CHUNK : 4 * CHUNK])
    assert ahead.status_code == 409
    status = (await client.get(f"/api/uploads/{upload['id']}", headers=ada.headers)).json()["data"]
    done = await send_all(client, ada, status, data)
    assert done["status"] == "processing" and done["received"] == len(data)
    more = await put(client, ada, upload["id"], len(data), b"x")
    assert more.status_code == 409 and more.json()["error"]["code"] == "upload_not_receiving"

    ready = await settled(client, ada, upload["id"])
    assert ready["status"] == "ready", ready
    assert ready["progress"] == 1 and ready["error"] is None
    assert ready["source"]["duration"] == pytest.approx(6, abs=0.1) and ready["source"]["videoCodec"] == "h264"
    assert [(r["width"], r["height"]) for r in ready["renditions"]] == [(320, 180), (160, 90)]
    movie = (await client.get(f"/api/movies/{ready['movieId']}")).json()["data"]
    assert movie["check"]["status"] == "ready" and movie["check"]["kind"] == "hls"
    assert movie["durationSeconds"] == 6 and movie["videoUrl"].endswith("/master.m3u8")

    # served from this origin: playlists never cached, segments with ranges; and it reads as 6 s of H.264 + AAC
    master = await client.get(movie["videoUrl"])
    assert master.status_code == 200 and master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["cache-control"] == "no-cache" and master.text.count("#EXT-X-STREAM-INF") == 2
    variant = (await client.get(movie["videoUrl"].replace("master.m3u8", "v0/index.m3u8"))).text
    assert variant.rstrip().endswith("#EXT-X-ENDLIST") and "#EXT-X-PLAYLIST-TYPE:EVENT" in variant
    segment = await client.get(
        movie["videoUrl"].replace("master.m3u8", "v0/seg00000.ts"), headers={"Range": "bytes=0-187"}
    )
    assert segment.status_code == 206 and len(segment.content) == 188 and segment.content[0] == 0x47  # TS sync byte
    out = uploads.output_dir(settings, movie["videoUrl"].split("/")[3])
    with av.open(str(out / "v0" / "index.m3u8")) as hls:
        assert float(hls.duration or 0) / av.time_base == pytest.approx(6, abs=0.3)
        assert {s.codec_context.name for s in hls.streams} == {"h264", "aac"}
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*")), "no half-written file is left"
    assert not uploads.staged_path(settings, out.name).exists(), "the staged upload is gone once made"

    # the job reported its progress on the queue too, where its owner reads it
    job = (await client.get(f"/api/queues/jobs/{ready['jobId']}", headers=ada.headers)).json()["data"]
    assert (job["queue"], job["state"], job["progress"]) == ("transcode", "completed", 1)
    assert job["result"]["status"] == "ready" and job["result"]["bytes"] > 0
    mine = (await client.get("/api/uploads", headers=ada.headers)).json()["data"]
    assert [u["id"] for u in mine] == [upload["id"]]


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("text.mp4", "not_media", "not a video"),
        ("bomb.mp4", "not_media", "not a video"),
        ("truncated.mp4", "truncated", "ends early"),
        ("song.m4a", "no_video", "no picture"),
        ("odd.avi", "codec", "codec"),
        ("huge.mp4", "frame_too_large", "4000×2400"),
    ],
)
async def test_a_file_that_cannot_be_played_fails_in_words_and_leaves_nothing(
    client: httpx.AsyncClient, files: Path, settings: Settings, services: Services, name: str, code: str, words: str
) -> None:
    who = await register(client, f"bad_{name.replace('.', '_')}")
    failed = await upload_file(client, who, files / name)
    assert failed["status"] == "failed" and failed["error"]["code"] == code, failed
    assert words in failed["error"]["message"]
    assert failed["movieId"] is None, "nothing reached the catalogue"
    async with services.db.session() as session:
        row = await session.get(MediaUpload, failed["id"])
        assert row is not None
    assert not uploads.staged_path(settings, row.token).exists(), "the staged file is gone"
    assert not uploads.output_dir(settings, row.token).exists(), "no output, not even half of one"


async def test_limits_the_size_the_quota_and_the_chunk(
    client: httpx.AsyncClient, files: Path, settings: Settings
) -> None:
    ben = await register(client, "ben_up")
    over = {"title": "Too big", "filename": "big.mkv", "size": settings.upload_max_bytes + 1}
    r = await client.post("/api/uploads", json=over, headers=ben.headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert "at most 4.0 GiB" in r.json()["error"]["message"]
    per_file = settings.upload_max_bytes
    started = []
    for i in range(settings.upload_quota_bytes // per_file):
        body = {"title": f"Part {i}", "filename": f"p{i}.mkv", "size": per_file}
        r = await client.post("/api/uploads", json=body, headers=ben.headers)
        assert r.status_code == 201, r.text
        started.append(r.json()["data"]["id"])
    r = await client.post("/api/uploads", json={"title": "One more", "filename": "x.mkv", "size": 1024},
                          headers=ben.headers)  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_quota_exceeded"
    assert "Delete an upload first" in r.json()["error"]["message"]
    assert (await client.delete(f"/api/uploads/{started[0]}", headers=ben.headers)).status_code == 200
    r = await client.post("/api/uploads", json={"title": "Now it fits", "filename": "x.mkv", "size": 1024},
                          headers=ben.headers)  # fmt: skip
    assert r.status_code == 201
    small = r.json()["data"]
    r = await put(client, ben, small["id"], 0, b"\0" * 2048)
    assert r.status_code == 413, "a chunk never goes past the declared size"
    r = await put(client, ben, small["id"], 0, b"\0" * (settings.upload_chunk_bytes + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


async def test_only_the_owner_sees_or_touches_an_upload_and_guests_cannot_upload(
    client: httpx.AsyncClient, files: Path
) -> None:
    cy = await register(client, "cy_up")
    dee = await register(client, "dee_up")
    upload = await start(client, cy, files / "clip.mp4")
    for r in (
        await client.get(f"/api/uploads/{upload['id']}", headers=dee.headers),
        await put(client, dee, upload["id"], 0, b"abc"),
        await client.delete(f"/api/uploads/{upload['id']}", headers=dee.headers),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found"
    guest = await client.post("/api/auth/guest", json={"displayName": "Gus"})
    headers = {"Authorization": f"Bearer {guest.json()['data']['token']}"}
    r = await client.post("/api/uploads", json={"title": "x", "filename": "x.mp4", "size": 10}, headers=headers)
    assert r.status_code == 403
    r = await client.post("/api/uploads", json={"title": "x", "filename": "x.mp4", "size": 0}, headers=cy.headers)
    assert r.status_code == 422


async def test_the_cleanup_removes_an_upload_once_its_movie_is_gone(
    client: httpx.AsyncClient, files: Path, settings: Settings, services: Services
) -> None:
    eve = await register(client, "eve_up")
    ready = await upload_file(client, eve, files / "clip.mp4")
    assert ready["status"] == "ready"
    movie = (await client.get(f"/api/movies/{ready['movieId']}")).json()["data"]
    out = uploads.output_dir(settings, movie["videoUrl"].split("/")[3])
    assert (out / "master.m3u8").exists()
    stray = settings.media_dir / "hls" / "0123456789abcdef01234567"  # a folder whose row is gone
    stray.mkdir(parents=True)
    assert (await client.delete(f"/api/movies/{movie['id']}", headers=eve.headers)).status_code == 200
    async with services.db.session() as session:
        removed = await uploads.remove_unreferenced(session, settings, utcnow() - timedelta(hours=24))
    assert removed >= 1
    assert not out.exists() and not stray.exists()
    assert (await client.get(f"/api/uploads/{ready['id']}", headers=eve.headers)).status_code == 404


async def test_a_staged_upload_is_never_served(client: httpx.AsyncClient, files: Path, settings: Settings) -> None:
    """Bytes nothing has checked yet live outside MEDIA_DIR (the served folder), for videos and avatars alike."""
    fay = await register(client, "fay_up")
    data = (files / "clip.mp4").read_bytes()
    upload = await start(client, fay, files / "clip.mp4")
    await put(client, fay, upload["id"], 0, data[:CHUNK])
    staged = list(settings.upload_staging_dir.glob("video-*.part"))
    assert staged and all(not p.resolve().is_relative_to(settings.media_dir.resolve()) for p in staged)
    for path in staged:
        assert (await client.get(f"/media/uploads/{path.name}")).status_code == 404
        assert (await client.get(f"/media/../staging/{path.name}")).status_code == 404
    assert (await client.delete(f"/api/uploads/{upload['id']}", headers=fay.headers)).status_code == 200
    assert not any(p.exists() for p in staged), "a deleted upload's staged bytes are gone"


async def test_media_before_anything_was_uploaded_is_a_404_not_a_500(tmp_path: Path, settings: Settings) -> None:
    from watchparty.app import create_app

    fresh = settings.model_copy(update={"media_dir": tmp_path / "never-made" / "media"})
    transport = httpx.ASGITransport(app=create_app(fresh), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for path in ("/media/avatars/1-x-thumbnail.jpg", "/media/hls/abc/master.m3u8"):
            r = await http.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.text)
