"""Rooms: listing, visibility, joining, leaving, invites and host rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update

from tests.integration.helpers import create_movie, create_room, join, link_token, register
from tests.smtp import Mailbox
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.models import Invite, Room


async def test_create_and_read_a_room(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    movie = await create_movie(client, host)
    room = await create_room(client, host, name="Friday", description="bring snacks", movieId=movie["id"])
    assert room["host"] == {"id": host.id, "username": "host", "avatarUrl": None}
    assert room["movie"]["title"] == "Big Buck Bunny"
    assert room["participantCount"] == 1
    assert room["visibility"] == "public"
    assert room["hasPassword"] is False
    r = await client.get(f"/api/rooms/{room['id']}")
    assert r.json()["data"] == room


async def test_create_room_with_unknown_movie_is_404(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    r = await client.post("/api/rooms", json={"name": "x", "movieId": 999}, headers=host.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "movie_not_found")


async def test_listing_shows_recent_public_rooms_newest_activity_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    host = await register(client, "host")
    old = await create_room(client, host, name="old")
    a = await create_room(client, host, name="a")
    await create_room(client, host, name="b")
    await create_room(client, host, name="hidden", visibility="unlisted")
    await create_room(client, host, name="secret", visibility="private")
    async with services.db.session() as session:
        await session.execute(
            update(Room).where(Room.id == old["id"]).values(last_activity_at=utcnow() - timedelta(days=31))
        )
    guest = await register(client, "guest")
    await join(client, guest, a["id"])  # activity: a is now the newest
    r = await client.get("/api/rooms")
    body = r.json()
    assert [x["name"] for x in body["data"]] == ["a", "b"]
    assert body["data"][0]["participantCount"] == 2
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 2, "pages": 1}
    r = await client.get("/api/rooms", params={"limit": 1, "page": 2})
    assert [x["name"] for x in r.json()["data"]] == ["b"]
    assert r.json()["pagination"]["pages"] == 2
    r = await client.get("/api/rooms", params={"q": "B"})
    assert [x["name"] for x in r.json()["data"]] == ["b"]


async def test_search_escapes_like_wildcards(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    await create_room(client, host, name="100% fun")
    await create_room(client, host, name="1000 fun")
    r = await client.get("/api/rooms", params={"q": "100%"})
    assert [x["name"] for x in r.json()["data"]] == ["100% fun"]


async def test_private_rooms_are_404_to_non_members_including_admins(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    outsider = await register(client, "outsider")
    room = await create_room(client, host, visibility="private", password="open sesame")
    for headers in ({}, outsider.headers):
        assert (await client.get(f"/api/rooms/{room['id']}", headers=headers)).status_code == 404
        assert (await client.get(f"/api/chat/{room['id']}/messages", headers=headers)).status_code == 404
    # wrong or missing password: still 404, nothing is confirmed
    assert (await join(client, outsider, room["id"])).status_code == 404
    assert (await join(client, outsider, room["id"], password="guess")).status_code == 404
    r = await join(client, outsider, room["id"], password="open sesame")
    assert r.status_code == 200
    assert (await client.get(f"/api/rooms/{room['id']}", headers=outsider.headers)).status_code == 200


async def test_passworded_public_room(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    guest = await register(client, "guest")
    room = await create_room(client, host, password="letmein")
    assert room["hasPassword"] is True
    r = await join(client, guest, room["id"])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "wrong_room_password")
    assert (await join(client, guest, room["id"], password="nope")).status_code == 403
    assert (await join(client, guest, room["id"], password="letmein")).status_code == 200
    # joining again is harmless and needs no password
    r = await join(client, guest, room["id"])
    assert (r.status_code, r.json()["data"]["participantCount"]) == (200, 2)


async def test_a_room_password_keeps_the_chat_and_members_for_those_who_entered_it(client: httpx.AsyncClient) -> None:
    host, member, outsider = [await register(client, n) for n in ("host", "member", "outsider")]
    room = await create_room(client, host)
    chat, members = f"/api/chat/{room['id']}/messages", f"/api/rooms/{room['id']}/members"
    await join(client, member, room["id"])
    assert (await client.post(chat, json={"content": "hello all"}, headers=host.headers)).status_code == 201
    assert (await client.get(chat)).status_code == 200  # a public room: open to read, and now cached as such
    assert (await client.get(chat)).headers["x-cache"] == "HIT"

    r = await client.put(f"/api/rooms/{room['id']}", json={"password": "letmein"}, headers=host.headers)
    assert r.status_code == 200
    for who in (None, outsider):
        headers = who.headers if who else {}
        for path in (chat, members):
            r = await client.get(path, headers=headers)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_member"), path
    listed = (await client.get("/api/rooms")).json()["data"]
    assert [(r["id"], r["hasPassword"]) for r in listed] == [(room["id"], True)]  # its card stays listed
    assert (await client.get(f"/api/rooms/{room['id']}")).status_code == 200
    for who in (host, member):  # members from before the password keep reading
        assert (await client.get(chat, headers=who.headers)).json()["data"][0]["content"] == "hello all"
        assert len((await client.get(members, headers=who.headers)).json()["data"]) == 2
    assert (await join(client, outsider, room["id"], password="letmein")).status_code == 200
    assert (await client.get(chat, headers=outsider.headers)).status_code == 200

    r = await client.put(f"/api/rooms/{room['id']}", json={"password": None}, headers=host.headers)
    assert r.status_code == 200
    assert (await client.get(chat)).status_code == 200  # open to read again


async def test_capacity_is_enforced(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host, capacity=2)
    a = await register(client, "aaa")
    b = await register(client, "bbb")
    assert (await join(client, a, room["id"])).status_code == 200
    r = await join(client, b, room["id"])
    assert (r.status_code, r.json()["error"]["code"]) == (409, "room_full")
    assert r.json()["error"]["message"] == "This room is full: it holds 2 people"  # the limit, in its number
    assert r.json()["error"]["details"] == [{"limit": 2}]
    r = await client.put(f"/api/rooms/{room['id']}", json={"capacity": 3}, headers=host.headers)
    assert r.status_code == 200
    assert (await join(client, b, room["id"])).status_code == 200
    r = await client.put(f"/api/rooms/{room['id']}", json={"capacity": 2}, headers=host.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "capacity_below_members")
    assert "has 3 members already" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["limit"] == 3


async def test_leave_and_host_handover(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    first = await register(client, "first")
    second = await register(client, "second")
    room = await create_room(client, host)
    await join(client, first, room["id"])
    await join(client, second, room["id"])
    assert (await client.post(f"/api/rooms/{room['id']}/leave", headers=host.headers)).status_code == 200
    r = await client.get(f"/api/rooms/{room['id']}")
    assert r.json()["data"]["host"]["username"] == "first"
    assert r.json()["data"]["participantCount"] == 2
    members = (await client.get(f"/api/rooms/{room['id']}/members")).json()["data"]
    assert [(m["user"]["username"], m["role"]) for m in members] == [("first", "host"), ("second", "member")]
    # the new host can now change the room; the old one cannot
    assert (await client.put(f"/api/rooms/{room['id']}", json={"name": "n"}, headers=first.headers)).status_code == 200
    assert (await client.put(f"/api/rooms/{room['id']}", json={"name": "n"}, headers=host.headers)).status_code == 403
    # leaving twice: no longer a member
    r = await client.post(f"/api/rooms/{room['id']}/leave", headers=host.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_member")


async def test_only_the_host_updates_or_deletes(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    member = await register(client, "member")
    room = await create_room(client, host, password="pass1234")
    await join(client, member, room["id"], password="pass1234")
    url = f"/api/rooms/{room['id']}"
    assert (await client.put(url, json={"name": "mine"}, headers=member.headers)).status_code == 403
    assert (await client.delete(url, headers=member.headers)).status_code == 403
    r = await client.put(url, json={"password": None, "description": "new"}, headers=host.headers)
    assert r.json()["data"]["hasPassword"] is False
    assert r.json()["data"]["description"] == "new"
    r = await client.delete(url, headers=host.headers)
    assert r.json() == {"success": True, "data": None}
    assert (await client.get(url)).status_code == 404


async def test_invite_lets_one_person_into_a_private_room(
    client: httpx.AsyncClient, mailbox: Mailbox, services: Services
) -> None:
    host = await register(client, "host")
    friend = await register(client, "friend")
    stranger = await register(client, "stranger")
    room = await create_room(client, host, visibility="private", name="Secret club")
    r = await client.post(f"/api/rooms/{room['id']}/invite", json={"email": friend.email}, headers=host.headers)
    assert r.status_code == 201
    assert r.json()["data"]["email"] == friend.email
    invite = await mailbox.one_to(friend.email, "invited you")
    assert "Secret club" in invite.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    token = link_token(invite, r"http://watchparty\.test/invite/([\w-]+)")
    assert (await join(client, friend, room["id"], inviteToken=token)).status_code == 200
    # used once: the stranger who got hold of the link cannot use it again, and is told why
    r = await join(client, stranger, room["id"], inviteToken=token)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invite_used")
    assert "already used" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["usedAt"].endswith("Z")
    # a made-up token confirms nothing about a private room
    r = await join(client, stranger, room["id"], inviteToken="made-up-token-1234")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "room_not_found")
    # an expired invite says so
    await client.post(f"/api/rooms/{room['id']}/invite", json={"email": stranger.email}, headers=host.headers)
    late = link_token(await mailbox.one_to(stranger.email, "invited you"), r"http://watchparty\.test/invite/([\w-]+)")
    async with services.db.session() as session:
        await session.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await join(client, stranger, room["id"], inviteToken=late)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invite_expired")
    # a non-member cannot invite
    r = await client.post(f"/api/rooms/{room['id']}/invite", json={"email": "x@example.com"}, headers=stranger.headers)
    assert r.status_code == 404


async def test_invite_email_with_header_injection_is_422(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    r = await client.post(
        f"/api/rooms/{room['id']}/invite",
        json={"email": "victim@example.com\r\nBcc: all@example.com"},
        headers=host.headers,
    )
    assert r.status_code == 422


async def test_unlisted_rooms_are_reachable_by_id_but_not_listed(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host, visibility="unlisted")
    assert (await client.get(f"/api/rooms/{room['id']}")).status_code == 200
    assert (await client.get("/api/rooms")).json()["data"] == []
    r = await client.get(f"/api/chat/{room['id']}/messages")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_a_member")


async def test_a_leave_a_delete_and_an_edit_of_one_room_at_once_never_fail(client: httpx.AsyncClient) -> None:
    """The fuzzer's find: a host's leave met the room's deletion, and updated a row that was gone (500)."""
    host, other = await register(client, "host"), await register(client, "other")
    seen = set()
    for _ in range(10):
        room = await create_room(client, host)
        await join(client, other, room["id"])
        path = f"/api/rooms/{room['id']}"
        answers = await asyncio.gather(
            client.post(f"{path}/leave", headers=host.headers),
            client.delete(path, headers=host.headers),
            client.put(path, json={"name": "renamed"}, headers=host.headers),
        )
        seen |= {r.status_code for r in answers}
    assert seen <= {200, 403, 404, 409}, seen


async def test_my_rooms_lists_the_callers_rooms_the_latest_first(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    viewer = await register(client, "viewer")
    own = await create_room(client, host, name="Hosted by me", visibility="private")
    theirs = await create_room(client, viewer, name="Their room")
    other = await create_room(client, viewer, name="Not joined")
    await join(client, host, theirs["id"])
    r = await client.get("/api/rooms/mine", headers=host.headers)
    mine = r.json()["data"]
    assert [(m["room"]["name"], m["role"]) for m in mine] == [("Their room", "member"), ("Hosted by me", "host")]
    assert mine[1]["room"] == (await client.get(f"/api/rooms/{own['id']}", headers=host.headers)).json()["data"]
    assert all(m["lastSeenAt"].endswith("Z") for m in mine)
    assert other["id"] not in {m["room"]["id"] for m in mine}
    r = await client.get("/api/rooms/mine", params={"limit": 1}, headers=host.headers)
    assert [m["room"]["name"] for m in r.json()["data"]] == ["Their room"]
    assert (await client.get("/api/rooms/mine")).status_code == 401
