"""Chat: posting, history with a cursor, membership rules."""

from __future__ import annotations

import httpx

from tests.integration.helpers import create_room, join, register


async def test_members_post_and_everyone_reads_public_history(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    url = f"/api/chat/{room['id']}/messages"
    r = await client.post(url, json={"content": "  hello <b>there</b>  ", "videoPosition": 12.5}, headers=host.headers)
    assert r.status_code == 201
    msg = r.json()["data"]
    # stored as text; escaping is the client's job
    assert (msg["content"], msg["videoPosition"], msg["user"]["username"]) == ("hello <b>there</b>", 12.5, "host")
    r = await client.get(url)
    assert [m["content"] for m in r.json()["data"]] == ["hello <b>there</b>"]


async def test_history_is_newest_last_with_a_cursor(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    url = f"/api/chat/{room['id']}/messages"
    for i in range(5):
        await client.post(url, json={"content": f"m{i}"}, headers=host.headers)
    r = await client.get(url, params={"limit": 2})
    body = r.json()
    assert [m["content"] for m in body["data"]] == ["m3", "m4"]
    assert body["pagination"]["hasMore"] is True
    r = await client.get(url, params={"limit": 2, "before": body["pagination"]["nextBefore"]})
    assert [m["content"] for m in r.json()["data"]] == ["m1", "m2"]
    r = await client.get(url, params={"limit": 100})
    assert [m["content"] for m in r.json()["data"]] == [f"m{i}" for i in range(5)]
    assert r.json()["pagination"] == {"limit": 100, "hasMore": False, "nextBefore": None}


async def test_non_members_cannot_post(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    outsider = await register(client, "outsider")
    room = await create_room(client, host)
    url = f"/api/chat/{room['id']}/messages"
    r = await client.post(url, json={"content": "hi"}, headers=outsider.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_member")
    await join(client, outsider, room["id"])
    assert (await client.post(url, json={"content": "hi"}, headers=outsider.headers)).status_code == 201


async def test_content_limits(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    url = f"/api/chat/{room['id']}/messages"
    for content in ["", "   ", "x" * 2001, "bell\x07"]:
        r = await client.post(url, json={"content": content}, headers=host.headers)
        assert r.status_code == 422, content
    assert (await client.post(url, json={"content": "x" * 2000}, headers=host.headers)).status_code == 201
    assert (await client.post(url, json={"content": "line\nbreak ✓ 日本"}, headers=host.headers)).status_code == 201


async def test_unknown_room_is_404(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    assert (await client.get("/api/chat/12345/messages")).status_code == 404
    assert (
        await client.post("/api/chat/12345/messages", json={"content": "x"}, headers=host.headers)
    ).status_code == 404
