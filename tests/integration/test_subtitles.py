"""Subtitles (ADR 0018): SRT, WebVTT and ASS/SSA uploads or URLs become WebVTT served from our own origin;
encodings are detected; broken, empty and oversized files get a clear error; the room has a default language."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.helpers import create_movie, create_room, register
from tests.media import media_server

SRT = "1\n00:00:01,000 --> 00:00:02,000\nHello, world\n\n2\n00:00:02,000 --> 00:00:03,500\n{line}\n"
VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello, world\n\n00:00:02.000 --> 00:00:03.500\n{line}\n"
ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{{\\b1}}Hello{{\\b0}}, world
Dialogue: 0,0:00:02.00,0:00:03.50,Default,,0,0,0,,{line}
"""
SSA = ASS.replace("ScriptType: v4.00+", "ScriptType: v4.00").replace("[V4+ Styles]", "[V4 Styles]")


async def _upload(
    client: httpx.AsyncClient, who: object, movie_id: int, raw: bytes, name: str, **form: str
) -> httpx.Response:
    return await client.post(
        f"/api/movies/{movie_id}/subtitles",
        files={"file": (name, raw, "application/octet-stream")},
        data={"label": "English", **form},
        headers=who.headers,  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(
    ("name", "template", "fmt"),
    [("a.srt", SRT, "SRT"), ("a.vtt", VTT, "WebVTT"), ("a.ass", ASS, "ASS"), ("a.ssa", SSA, "SSA")],
)
async def test_each_format_becomes_webvtt_served_from_our_origin(
    client: httpx.AsyncClient, name: str, template: str, fmt: str
) -> None:
    host = await register(client, "subber")
    movie = await create_movie(client, host)
    r = await _upload(client, host, movie["id"], template.format(line="Second line").encode(), name, language="en")
    assert r.status_code == 201, r.text
    track = r.json()["data"]
    assert (track["sourceFormat"], track["sourceEncoding"], track["cues"], track["language"]) == (fmt, "utf-8", 2, "en")
    vtt = await client.get(track["url"])
    assert vtt.status_code == 200 and vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    assert vtt.headers["x-content-type-options"] == "nosniff"
    assert vtt.text.startswith("WEBVTT")
    assert "00:00:01.000 --> 00:00:02.000\nHello, world" in vtt.text  # ASS styling tags are gone
    assert "00:00:02.000 --> 00:00:03.500\nSecond line" in vtt.text
    listed = (await client.get(f"/api/movies/{movie['id']}/subtitles")).json()["data"]
    assert [t["id"] for t in listed] == [track["id"]]


@pytest.mark.parametrize(
    ("encoding", "line", "detected"),
    [
        ("utf-8", "Привет, мир — ça va", "utf-8"),
        ("utf-8-sig", "Привет, мир", "utf-8"),
        ("utf-16", "Привет, мир", "utf-16"),
        ("utf-16-le", "Привет, мир", "utf-16"),  # no byte-order mark
        ("cp1251", "Привет, мир, как дела у вас сегодня вечером", "cp1251"),
        ("latin-1", "Ça va très bien, merci à vous, à bientôt", "latin-1"),
    ],
)
async def test_encodings_are_detected(client: httpx.AsyncClient, encoding: str, line: str, detected: str) -> None:
    host = await register(client, "encoder")
    movie = await create_movie(client, host)
    r = await _upload(client, host, movie["id"], SRT.format(line=line).encode(encoding), "a.srt")
    assert r.status_code == 201, r.text
    assert r.json()["data"]["sourceEncoding"] == detected
    assert line in (await client.get(r.json()["data"]["url"])).text


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        (b"this is a letter, not subtitles\n", "not a subtitle file"),
        (b"1\n00:00:01,000 --> nonsense\nHello\n", "not a subtitle file"),
        (b"WEBVTT\n\n", "no cues"),
    ],
)
async def test_broken_and_empty_files_get_a_clear_error(client: httpx.AsyncClient, raw: bytes, words: str) -> None:
    host = await register(client, "breaker")
    movie = await create_movie(client, host)
    r = await _upload(client, host, movie["id"], raw, "x.srt")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_subtitle"), r.text
    assert words in r.json()["error"]["message"]


async def test_limits_and_bad_fields_are_refused(client: httpx.AsyncClient) -> None:
    host = await register(client, "limiter")
    movie = await create_movie(client, host)
    big = SRT.format(line="x" * 100).encode() * 30_000  # about 4 MiB
    r = await _upload(client, host, movie["id"], big, "big.srt")
    assert r.status_code == 413 and r.json()["success"] is False
    r = await _upload(client, host, movie["id"], SRT.format(line="ok").encode(), "a.srt", language="not a tag!")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    r = await client.post(f"/api/movies/{movie['id']}/subtitles", files={"file": ("a.srt", b"x")}, headers=host.headers)
    assert r.status_code == 422  # no label
    r = await _upload(client, host, 999_999, SRT.format(line="ok").encode(), "a.srt")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "movie_not_found")
    assert (await client.get(f"/api/movies/{movie['id']}/subtitles/999.vtt")).status_code == 404
    anonymous = await client.post(
        f"/api/movies/{movie['id']}/subtitles", files={"file": ("a.srt", b"x")}, data={"label": "x"}
    )
    assert anonymous.status_code == 401


async def test_a_subtitle_by_url_is_fetched_once_and_never_from_a_private_address_unless_allowed(
    client: httpx.AsyncClient, tmp_path: Path, services: object
) -> None:
    (tmp_path / "en.srt").write_text(SRT.format(line="From a URL"), encoding="utf-8")
    host = await register(client, "fetcher")
    movie = await create_movie(client, host)
    with media_server(tmp_path, cors=False) as site:  # no CORS needed: the server fetches it, not the browser
        r = await client.post(f"/api/movies/{movie['id']}/subtitles/by-url",
                              json={"url": f"{site.url}/en.srt", "label": "English", "language": "en"},
                              headers=host.headers)  # fmt: skip
        assert r.status_code == 201, r.text
        assert "From a URL" in (await client.get(r.json()["data"]["url"])).text
        by_url = f"/api/movies/{movie['id']}/subtitles/by-url"
        missing = await client.post(by_url, json={"url": f"{site.url}/none.srt", "label": "x"}, headers=host.headers)
        assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid_subtitle")
        assert "404" in missing.json()["error"]["message"]
        settings = services.settings  # type: ignore[attr-defined]
        settings.media_check_allow_private = False
        try:
            private = await client.post(by_url, json={"url": f"{site.url}/en.srt", "label": "x"}, headers=host.headers)
        finally:
            settings.media_check_allow_private = True
        assert (private.status_code, private.json()["error"]["code"]) == (422, "invalid_subtitle")
        assert "private network" in private.json()["error"]["message"]


async def test_tracks_are_removed_by_who_added_them_and_the_room_has_a_default_language(
    client: httpx.AsyncClient,
) -> None:
    host = await register(client, "owner")
    other = await register(client, "other")
    movie = await create_movie(client, host)
    r = await _upload(client, other, movie["id"], SRT.format(line="x").encode(), "a.srt")  # anyone signed in adds
    track = r.json()["data"]
    third = await register(client, "third")
    r = await client.delete(f"/api/movies/{movie['id']}/subtitles/{track['id']}", headers=third.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_movie_owner")
    r = await client.delete(f"/api/movies/{movie['id']}/subtitles/{track['id']}", headers=host.headers)  # the movie's
    assert r.status_code == 200
    assert (await client.get(track["url"])).status_code == 404

    room = await create_room(client, host, movieId=movie["id"])
    assert room["subtitleLanguage"] is None
    r = await client.put(f"/api/rooms/{room['id']}", json={"subtitleLanguage": "pt-BR"}, headers=host.headers)
    assert r.status_code == 200 and r.json()["data"]["subtitleLanguage"] == "pt-BR"
    r = await client.put(f"/api/rooms/{room['id']}", json={"subtitleLanguage": None}, headers=host.headers)
    assert r.json()["data"]["subtitleLanguage"] is None
