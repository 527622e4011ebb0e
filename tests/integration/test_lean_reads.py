"""The hot reads (ADR 0012) encode rows straight to JSON in one statement: their bodies must be exactly what the
declared response models would have produced, and they must keep every access rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import make_settings
from tests.integration.helpers import create_movie, create_room, join, register
from tests.integration.test_cache import count_queries
from watchparty.app import create_app
from watchparty.chat.schemas import MessagePage
from watchparty.config import Settings
from watchparty.core.deps import Services
from watchparty.core.schemas import Envelope, Page
from watchparty.models import Movie
from watchparty.movies import service as movies_service
from watchparty.movies.schemas import MovieRead
from watchparty.rooms import service as rooms_service
from watchparty.rooms.schemas import RoomRead
from watchparty.users import service as users_service
from watchparty.users.schemas import UserRead

NO_CACHE = {"page": "1", "q": ""}  # an empty search is not cached: the application answers every time


def _as_model_writes_it(model: Any, body: bytes) -> Any:
    return model.model_validate_json(body).model_dump(mode="json", by_alias=True)


async def test_room_list_is_what_the_model_would_write_in_one_statement(
    client: httpx.AsyncClient, services: Services
) -> None:
    host = await register(client, "host")
    movie = await create_movie(client, host)
    with_movie = await create_room(client, host, movieId=movie["id"], description="first")
    await create_room(client, host, name="No movie here")
    guest = await register(client, "guest")
    await join(client, guest, with_movie["id"])

    statements = count_queries(services, "SELECT")
    r = await client.get("/api/rooms", params={"q": "", "limit": "1", "page": "2"})
    assert r.status_code == 200 and statements() == 1, statements.seen  # type: ignore[attr-defined]
    assert r.json() == _as_model_writes_it(Page[RoomRead], r.content)
    assert r.json()["pagination"] == {"page": 2, "limit": 1, "total": 2, "pages": 2}

    body = (await client.get("/api/rooms", params=NO_CACHE)).json()
    assert body == _as_model_writes_it(Page[RoomRead], json.dumps(body).encode())
    listed = {room["id"]: room for room in body["data"]}
    assert listed[with_movie["id"]]["participantCount"] == 2
    assert listed[with_movie["id"]]["movie"]["id"] == movie["id"]
    assert [room["movie"] for room in body["data"] if room["id"] != with_movie["id"]] == [None]
    created = datetime.fromisoformat(listed[with_movie["id"]]["createdAt"])
    assert created.tzinfo == UTC and listed[with_movie["id"]]["createdAt"].endswith("Z")
    assert listed[with_movie["id"]] == (await client.get(f"/api/rooms/{with_movie['id']}")).json()["data"]

    past_the_end = (await client.get("/api/rooms", params={"q": "", "page": "50"})).json()
    assert past_the_end["data"] == [] and past_the_end["pagination"]["total"] == 2


async def test_chat_history_is_what_the_model_would_write_and_keeps_access_rules(
    client: httpx.AsyncClient, services: Services
) -> None:
    host = await register(client, "host")
    public = await create_room(client, host)
    unlisted = await create_room(client, host, visibility="unlisted")
    private = await create_room(client, host, visibility="private")
    for room in (public, unlisted, private):
        for n in range(3):
            await client.post(
                f"/api/chat/{room['id']}/messages",
                json={"content": f"m{n}", "videoPosition": 1.5 * n if n else None},
                headers=host.headers,
            )
    stranger = await register(client, "stranger")
    r = await client.get(f"/api/chat/{public['id']}/messages", params={"limit": "2"})
    assert r.json() == _as_model_writes_it(MessagePage, r.content)
    page = r.json()
    assert [m["content"] for m in page["data"]] == ["m1", "m2"]
    assert page["pagination"] == {"limit": 2, "hasMore": True, "nextBefore": page["data"][0]["id"]}
    assert page["data"][1]["videoPosition"] == 3.0 and page["data"][1]["user"]["username"] == "host"

    statements = count_queries(services, "SELECT")
    older = await client.get(  # a cursor is not cached: this is the application's read alone, one statement
        f"/api/chat/{public['id']}/messages", params={"before": page["data"][0]["id"], "limit": "5"}
    )
    assert statements() == 1, statements.seen  # type: ignore[attr-defined]
    assert [m["content"] for m in older.json()["data"]] == ["m0"] and older.json()["pagination"]["hasMore"] is False

    # access: the one statement answers only for readers; everyone else gets the unit-of-work path's answer
    for room, anonymous, outsider in ((unlisted, 403, 403), (private, 404, 404)):
        url = f"/api/chat/{room['id']}/messages"
        assert (await client.get(url)).status_code == anonymous
        assert (await client.get(url, headers=stranger.headers)).status_code == outsider
        member = await client.get(url, headers=host.headers)
        assert member.status_code == 200 and len(member.json()["data"]) == 3
    assert (await client.get("/api/chat/999999/messages")).status_code == 404
    empty = await create_room(client, host)
    assert (await client.get(f"/api/chat/{empty['id']}/messages")).json()["data"] == []


async def test_loaders_answer_as_the_application_does_with_the_cache_on_and_off(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """With the cache off, the hot reads are served by their loaders instead of the routes; with it on, misses are.
    Either way the answer (status and body) is the application's own, which a cursor or a search still reaches."""
    host = await register(client, "host")
    stranger = await register(client, "stranger")
    public = await create_room(client, host)
    unlisted = await create_room(client, host, visibility="unlisted")
    private = await create_room(client, host, visibility="private")
    for room in (public, unlisted, private):
        await client.post(f"/api/chat/{room['id']}/messages", json={"content": "hi"}, headers=host.headers)
    bad = {"Authorization": "Bearer not-a-token"}
    cases = [
        ("/api/rooms", "/api/rooms?q=", {}),
        ("/api/rooms?limit=1&page=2", "/api/rooms?limit=1&page=2&q=", {}),
        ("/api/rooms", "/api/rooms?q=", bad),
    ]
    for room in (public, unlisted, private):
        url = f"/api/chat/{room['id']}/messages"
        via_app = f"{url}?before={2**31 - 1}"  # a cursor past every message: the same page, from the route
        cases += [
            (url, via_app, {}),
            (url, via_app, host.headers),
            (url, via_app, stranger.headers),
            (url, via_app, bad),
        ]
    uncached_app = create_app(make_settings(settings.database_url, tmp_path, cache_enabled=False))
    async with uncached_app.router.lifespan_context(uncached_app):
        transport = httpx.ASGITransport(app=uncached_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as uncached:
            for loaded, routed, headers in cases:
                expected = await client.get(routed, headers=headers)
                for c in (client, uncached):
                    r = await c.get(loaded, headers=headers)
                    body = r.json()
                    body.pop("_cached", None)  # a HIT says so; otherwise the same body
                    assert (r.status_code, body) == (expected.status_code, expected.json()), (loaded, headers)
            assert "x-cache" not in (await uncached.get("/api/rooms")).headers
    statuses = {(u, tuple(h)): (await client.get(u, headers=h)).status_code for u, _, h in cases}
    assert sorted(set(statuses.values())) == [200, 401, 403, 404]  # every kind of answer was compared


async def test_room_details_and_movies_are_what_the_models_would_write_in_one_statement(
    client: httpx.AsyncClient, services: Services, settings: Settings, tmp_path: Path
) -> None:
    """Issue 18: room details, the movie list and movie details are hot reads too. Their bytes equal what the
    response models write from the ORM's objects, for every kind of caller, and each is one statement."""
    host = await register(client, "host")
    member = await register(client, "member")
    stranger = await register(client, "stranger")
    movie = await create_movie(client, host)
    await create_movie(client, host, title="Second film")
    rooms = [
        await create_room(client, host, movieId=movie["id"], description="with a movie"),
        await create_room(client, host, visibility="unlisted"),
        await create_room(client, host, visibility="private", password="pw-pw-pw"),
        await create_room(client, host, name="Locked", password="pw-pw-pw"),
    ]
    for room in rooms:
        await join(client, member, room["id"], password="pw-pw-pw")
    callers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "host": host.headers,
        "member": member.headers,
        "stranger": stranger.headers,
    }
    uncached_app = create_app(make_settings(settings.database_url, tmp_path, cache_enabled=False))
    async with uncached_app.router.lifespan_context(uncached_app):
        transport = httpx.ASGITransport(app=uncached_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as uncached:
            for room in rooms:
                async with services.db.session() as session:
                    owner = await users_service.get_user(session, host.id)
                    expected = Envelope[RoomRead](data=await rooms_service.get_room(session, room["id"], owner))
                model_bytes = expected.model_dump_json(by_alias=True).encode()
                for who, headers in callers.items():
                    private = room["visibility"] == "private" and who in ("anonymous", "stranger")
                    for c in (client, uncached):
                        r = await c.get(f"/api/rooms/{room['id']}", headers=headers)
                        if private:
                            assert r.status_code == 404, (room["name"], who)
                            continue
                        assert r.status_code == 200, (room["name"], who)
                        body = r.content.replace(b'{"_cached":true,', b"{", 1)
                        assert body == model_bytes, (room["name"], who)
            assert (await uncached.get("/api/rooms/999999")).status_code == 404

            async with services.db.session() as session:
                expected_movie = Envelope[MovieRead](
                    data=movies_service.to_read(await movies_service.get_movie(session, movie["id"]))
                )
                newest_first = select(Movie).order_by(Movie.created_at.desc(), Movie.id.desc())
                listed = (await session.scalars(newest_first)).all()
            expected_page = Page[MovieRead].of(
                [movies_service.to_read(m) for m in listed[:1]], page=1, limit=1, total=len(listed)
            )
            for headers in (callers["anonymous"], callers["stranger"]):
                for c in (client, uncached):
                    one = await c.get(f"/api/movies/{movie['id']}", headers=headers)
                    assert (
                        one.content.replace(b'{"_cached":true,', b"{", 1)
                        == expected_movie.model_dump_json(by_alias=True).encode()
                    )
                    page = await c.get("/api/movies", params={"limit": "1"}, headers=headers)
                    assert (
                        page.content.replace(b'{"_cached":true,', b"{", 1)
                        == expected_page.model_dump_json(by_alias=True).encode()
                    )
            assert (await uncached.get("/api/movies/999999")).status_code == 404
            searched = (await uncached.get("/api/movies", params={"q": "second"})).json()
            assert [m["title"] for m in searched["data"]] == ["Second film"] and searched["pagination"]["total"] == 1

            assert uncached_app.services is not None
            # counted by table: the app's own background work (the outbox relay's polling) reads other tables
            reads = [("FROM room", f"/api/rooms/{rooms[0]['id']}"), ("FROM movie", "/api/movies")]
            reads.append(("FROM movie", f"/api/movies/{movie['id']}"))
            for needle, path in reads:
                statements = count_queries(uncached_app.services, needle)
                assert (await uncached.get(path)).status_code == 200
                assert statements() == 1, (path, statements.seen)  # type: ignore[attr-defined]


async def test_a_profile_hit_costs_one_select_the_revocation_check(
    client: httpx.AsyncClient, services: Services
) -> None:
    who = await register(client, "profiled")
    miss = await client.get("/api/auth/profile", headers=who.headers)
    assert miss.headers["x-cache"] == "MISS"
    model_bytes = Envelope[UserRead].model_validate_json(miss.content).model_dump_json(by_alias=True).encode()
    assert miss.content == model_bytes  # the lean read writes what the model writes
    statements = count_queries(services, "")
    r = await client.get("/api/auth/profile", headers=who.headers)
    statements.seen[:] = [q for q in statements.seen if "outbox" not in q.lower()]  # type: ignore[attr-defined]
    assert r.headers["x-cache"] == "HIT" and r.content == model_bytes.replace(b"{", b'{"_cached":true,', 1)
    assert len(statements.seen) == 1 and "token_version" in statements.seen[0], statements.seen  # type: ignore[attr-defined]
    await client.post("/api/auth/logout-all", headers=who.headers)
    assert (await client.get("/api/auth/profile", headers=who.headers)).status_code == 401  # revoked: no copy served
