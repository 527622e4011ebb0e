"""The movie catalogue: CRUD, ownership, validation."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import create_movie, create_room, register


async def test_movie_crud_by_its_creator(client: httpx.AsyncClient) -> None:
    owner = await register(client, "owner")
    movie = await create_movie(
        client,
        owner,
        description="A rabbit.",
        posterUrl="/media/poster.jpg",
        durationSeconds=596,
        year=2008,
        genres=["animation", "comedy"],
    )
    assert movie["createdBy"] == owner.id
    assert movie["genres"] == ["animation", "comedy"]
    url = f"/api/movies/{movie['id']}"
    assert (await client.get(url)).json()["data"] == movie
    r = await client.put(url, json={"title": "Bunny", "year": None, "genres": None}, headers=owner.headers)
    data = r.json()["data"]
    assert (data["title"], data["year"], data["genres"], data["durationSeconds"]) == ("Bunny", None, [], 596)
    assert (await client.delete(url, headers=owner.headers)).json() == {"success": True, "data": None}
    assert (await client.get(url)).status_code == 404


async def test_list_is_paginated_and_searchable(client: httpx.AsyncClient) -> None:
    owner = await register(client, "owner")
    for title in ["Alpha", "Beta", "Gamma"]:
        await create_movie(client, owner, title=title)
    r = await client.get("/api/movies", params={"limit": 2})
    assert [m["title"] for m in r.json()["data"]] == ["Gamma", "Beta"]
    assert r.json()["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2}
    r = await client.get("/api/movies", params={"q": "alp"})
    assert [m["title"] for m in r.json()["data"]] == ["Alpha"]


async def test_only_creator_or_admin_changes_a_movie(client: httpx.AsyncClient) -> None:
    owner = await register(client, "owner")
    other = await register(client, "other")
    movie = await create_movie(client, owner)
    url = f"/api/movies/{movie['id']}"
    r = await client.put(url, json={"title": "mine"}, headers=other.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_movie_owner")
    assert (await client.delete(url, headers=other.headers)).status_code == 403


async def test_deleting_a_movie_keeps_rooms_showing_it(client: httpx.AsyncClient) -> None:
    owner = await register(client, "owner")
    movie = await create_movie(client, owner)
    room = await create_room(client, owner, movieId=movie["id"])
    await client.delete(f"/api/movies/{movie['id']}", headers=owner.headers)
    r = await client.get(f"/api/rooms/{room['id']}")
    assert r.json()["data"]["movie"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "videoUrl": "javascript:alert(1)"},
        {"title": "x", "videoUrl": "//evil.example/x.mp4"},
        {"title": "", "videoUrl": "https://example.com/a.mp4"},
        {"title": "x\ny", "videoUrl": "https://example.com/a.mp4"},
        {"title": "x" * 201, "videoUrl": "https://example.com/a.mp4"},
        {"title": "x", "videoUrl": "https://example.com/a.mp4", "year": 1500},
        {"title": "x", "videoUrl": "https://example.com/a.mp4", "durationSeconds": -1},
        {"title": "x", "videoUrl": "https://example.com/a.mp4", "genres": ["g"] * 11},
        {"title": "x", "videoUrl": "https://example.com/a.mp4", "createdBy": 1},
        {"title": "x\x00", "videoUrl": "https://example.com/a.mp4"},
        {"videoUrl": "https://example.com/a.mp4"},
        {"title": 5, "videoUrl": "https://example.com/a.mp4"},
    ],
)
async def test_bad_movies_are_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    owner = await register(client, "owner")
    r = await client.post("/api/movies", json=body, headers=owner.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]
