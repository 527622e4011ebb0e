"""Avatar uploads: refused before processing when they are too big, not images, too many pixels or broken;
processed in the background into four files without metadata; served with nosniff."""

from __future__ import annotations

import asyncio
import io
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.images import BLUE, RED, bomb_png, photo, png, webp
from tests.integration.helpers import Account, register, wait_job
from watchparty.config import Settings

UPLOAD = "/api/auth/upload-profile-picture"


@cache
def big_photo() -> bytes:
    return photo()


async def upload(
    client: httpx.AsyncClient, who: Account, data: bytes, filename: str = "me.jpg", ctype: str = "image/jpeg"
) -> httpx.Response:
    return await client.post(UPLOAD, files={"profilePicture": (filename, data, ctype)}, headers=who.headers)


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


async def test_a_photo_becomes_four_clean_files(client: httpx.AsyncClient, settings: Settings) -> None:
    ann = await register(client, "ann")
    before = await client.get("/api/auth/profile", headers=ann.headers)
    assert before.json()["data"]["avatarUrls"] is None  # cached now, and must be invalidated by the job

    r = await upload(client, ann, big_photo())
    assert r.status_code == 202, r.text
    job = await wait_job(client, ann, r.json()["data"]["jobId"])
    assert job["state"] == "completed", job
    urls = job["result"]["avatarUrls"]

    profile = (await client.get("/api/auth/profile", headers=ann.headers)).json()["data"]
    assert profile["avatarUrls"] == urls
    assert profile["profilePicture"] == urls["medium"]
    expected = {
        "thumbnail": (150, "JPEG"),
        "medium": (600, "JPEG"),
        "thumbnailWebp": (150, "WEBP"),
        "mediumWebp": (600, "WEBP"),
    }
    for key, (side, fmt) in expected.items():
        served = await client.get(urls[key])
        assert served.status_code == 200
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-type"] == ("image/jpeg" if fmt == "JPEG" else "image/webp")
        image = Image.open(io.BytesIO(served.content))
        assert (image.format, image.size) == (fmt, (side, side))
        assert not image.getexif(), "no EXIF at all: no GPS, no camera, no orientation"
        assert "icc_profile" not in image.info
        if fmt == "JPEG":
            assert image.info.get("progressive") == 1
        rgb = image.convert("RGB")
        # orientation was applied: the red half is on top, the blue half below
        assert close_to(rgb.getpixel((side // 2, side // 10)), RED)  # type: ignore[arg-type]
        assert close_to(rgb.getpixel((side // 2, side - side // 10)), BLUE)  # type: ignore[arg-type]
    assert sorted(p.name for p in settings.upload_staging_dir.glob("*")) == []


@pytest.mark.parametrize(
    ("make", "ctype", "status", "code"),
    [
        (lambda: bomb_png(), "image/png", 422, "invalid_image"),
        (lambda: big_photo()[:-5000], "image/jpeg", 422, "invalid_image"),
        (lambda: b"<!doctype html><script>alert(1)</script>", "image/jpeg", 415, "unsupported_media_type"),
        (lambda: b"", "image/jpeg", 422, "invalid_image"),
        (lambda: b"GIF89a" + b"\0" * 100, "image/gif", 415, "unsupported_media_type"),
        (lambda: b"\xff\xd8\xff\xe0" + b"\0" * (6 * 1024 * 1024), "image/jpeg", 413, "payload_too_large"),
    ],
    ids=["decompression-bomb", "truncated-jpeg", "html-named-jpg", "empty", "gif", "6-mib"],
)
async def test_bad_uploads_are_refused_before_processing(
    client: httpx.AsyncClient, settings: Settings, make: Any, ctype: str, status: int, code: str
) -> None:
    ann = await register(client, "ann")
    r = await upload(client, ann, make(), ctype=ctype)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    if status == 413:  # the limit, in its number, next to the form's field
        assert "5 MiB" in r.json()["error"]["message"]
        assert r.json()["error"]["details"][0]["limit"] == settings.avatar_max_bytes
    assert not list(settings.upload_staging_dir.glob("*")), "nothing was staged"


async def test_png_and_webp_are_accepted_and_the_client_filename_is_ignored(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    ann = await register(client, "ann")
    for data, name, ctype in ((png(), "../../escape.png", "image/png"), (webp(), "..%2F..%2Fx.webp", "image/webp")):
        r = await upload(client, ann, data, filename=name, ctype=ctype)
        assert r.status_code == 202, r.text
        assert (await wait_job(client, ann, r.json()["data"]["jobId"]))["state"] == "completed"
    for root in (settings.media_dir.parent, settings.media_dir.parent.parent):
        assert not list(root.glob("escape*")) and not list(root.glob("x.webp"))
    assert all(p.name.startswith(f"{ann.id}-") for p in (settings.media_dir / "avatars").iterdir())


async def test_two_concurrent_uploads_leave_one_avatar_and_no_orphans(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ann = await register(client, "ann")
    first, second = await asyncio.gather(upload(client, ann, big_photo()), upload(client, ann, png(800, 700)))
    jobs = [await wait_job(client, ann, r.json()["data"]["jobId"]) for r in (first, second)]
    assert [j["state"] for j in jobs] == ["completed", "completed"]
    profile = (await client.get("/api/auth/profile", headers=ann.headers)).json()["data"]
    # the later upload (by acceptance time) wins, whichever job finished last; the other left nothing behind
    assert profile["avatarUrls"] in [j["result"]["avatarUrls"] for j in jobs]
    on_disk = sorted(f"/media/avatars/{p.name}" for p in (settings.media_dir / "avatars").iterdir())
    assert on_disk == sorted(profile["avatarUrls"].values())
    assert not list(settings.upload_staging_dir.glob("*"))


async def test_a_new_avatar_replaces_and_deletes_the_old_one(client: httpx.AsyncClient, settings: Settings) -> None:
    ann = await register(client, "ann")
    for data in (png(300, 300), webp(300, 200)):
        r = await upload(client, ann, data, ctype="image/png")
        await wait_job(client, ann, r.json()["data"]["jobId"])
    profile = (await client.get("/api/auth/profile", headers=ann.headers)).json()["data"]
    on_disk = sorted(f"/media/avatars/{p.name}" for p in (settings.media_dir / "avatars").iterdir())
    assert on_disk == sorted(profile["avatarUrls"].values())


async def test_only_the_owner_reads_an_upload_job(client: httpx.AsyncClient) -> None:
    ann, bob = await register(client, "ann"), await register(client, "bob")
    r = await upload(client, ann, png())
    job_id = r.json()["data"]["jobId"]
    other = await client.get(f"/api/queues/jobs/{job_id}", headers=bob.headers)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "job_not_found")
    assert (await client.get(f"/api/queues/jobs/{job_id}")).status_code == 401
    assert (await client.get("/api/queues/jobs/email-o99999.abc", headers=ann.headers)).status_code == 404
    assert (await client.get("/api/queues/jobs/nonsense", headers=ann.headers)).status_code == 422
    await wait_job(client, ann, job_id)


async def test_missing_field_and_wrong_encoding_are_422(client: httpx.AsyncClient) -> None:
    ann = await register(client, "ann")
    r = await client.post(UPLOAD, files={"avatar": ("a.png", png(), "image/png")}, headers=ann.headers)
    assert r.status_code == 422
    r = await client.post(UPLOAD, json={"profilePicture": "x"}, headers=ann.headers)
    assert r.status_code == 422
    assert (await client.post(UPLOAD, files={"profilePicture": ("a.png", png(), "image/png")})).status_code == 401
