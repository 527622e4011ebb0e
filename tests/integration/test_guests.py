"""Guests (ADR 0016): join by link with a name only, in rooms that let them in, as a role below member; limited
per address; banned by device and address too; signing up or in keeps what they did; the cleanup job removes the
unseen, and their messages keep their name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.integration.helpers import Account, create_room, join, register, wait_job
from tests.media import local_clip_url
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.models import User, UserRole
from watchparty.users import service as users_service

DEVICE = "device-token-of-this-browser-0001"


async def guest(client: httpx.AsyncClient, name: str, device: str | None = DEVICE) -> Account:
    body: dict[str, Any] = {"displayName": name} | ({"deviceToken": device} if device else {})
    r = await client.post("/api/auth/guest", json=body)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["user"]["isGuest"] is True and data["user"]["email"] is None
    return Account(data["user"]["id"], "", data["user"]["username"], data["token"], data["refreshToken"])


async def _roles(client: httpx.AsyncClient, room_id: int) -> dict[str, str]:
    r = await client.get(f"/api/rooms/{room_id}/members")
    return {m["user"]["username"]: m["role"] for m in r.json()["data"]}


async def test_a_guest_joins_by_link_with_a_name_and_chats_as_a_guest(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    assert room["guestsAllowed"] is True  # on by default for a public room
    ann = await guest(client, "Ann Lee")
    assert ann.username == "Ann Lee"
    assert (await join(client, ann, room["id"])).status_code == 200
    assert (await _roles(client, room["id"]))["Ann Lee"] == "guest"
    r = await client.post(f"/api/chat/{room['id']}/messages", json={"content": "hello"}, headers=ann.headers)
    assert r.status_code == 201 and r.json()["data"]["authorName"] == "Ann Lee"
    # a second guest with the same name gets a number
    other = await guest(client, "Ann Lee", device=None)
    assert other.username.startswith("Ann Lee-") and other.id != ann.id
    # the guest's session is a refresh token like any other
    r = await client.post("/api/auth/refresh", json={"refreshToken": ann.refresh_token})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/rooms", {"name": "mine"}),
        ("POST", "/api/movies", {"title": "T", "videoUrl": local_clip_url("v")}),
        ("POST", "/api/rooms/{room}/invite", {"email": "friend@example.com"}),
        ("PUT", "/api/auth/profile", {"username": "newname"}),
        ("POST", "/api/auth/change-password", {"currentPassword": "x", "newPassword": "long enough pw"}),
        ("POST", "/api/rooms/{room}/playlist/items", {"baseVersion": 0, "url": local_clip_url("a")}),
    ],
)
async def test_what_a_guest_may_not_do_is_refused_in_words(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)  # membersAdd is on: members may add; guests are below members
    bob = await guest(client, "Bob")
    await join(client, bob, room["id"])
    r = await client.request(method, path.format(room=room["id"]), json=body, headers=bob.headers)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] in ("guest_not_allowed", "not_allowed")
    assert r.json()["error"]["message"]


async def test_rooms_decide_whether_guests_come_in(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    private = await create_room(client, host, visibility="private", password="room-pw")
    closed = await create_room(client, host, name="members only", guestsAllowed=False)
    assert private["guestsAllowed"] is False and closed["guestsAllowed"] is False
    carl = await guest(client, "Carl")
    r = await join(client, carl, private["id"], password="room-pw")
    assert r.status_code == 404  # a private room that lets no guests in is not confirmed to one
    r = await join(client, carl, closed["id"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "guests_not_allowed"
    r = await client.put(f"/api/rooms/{private['id']}", json={"guestsAllowed": True}, headers=host.headers)
    assert r.status_code == 200 and r.json()["data"]["guestsAllowed"] is True
    assert (await join(client, carl, private["id"])).status_code == 404  # still needs the password
    assert (await join(client, carl, private["id"], password="room-pw")).status_code == 200


async def test_guest_identities_are_limited_per_address(client: httpx.AsyncClient, services: Services) -> None:
    for i in range(20):  # RATE_LIMIT_GUEST_IP: 20/hour
        r = await client.post("/api/auth/guest", json={"displayName": f"g{i:02d}"})
        assert r.status_code == 201, r.text
    r = await client.post("/api/auth/guest", json={"displayName": "one more"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("name", ["", "x", " ", "a" * 25, "<script>", "semi;colon", "null\x00"])
async def test_a_bad_guest_name_is_a_422(client: httpx.AsyncClient, name: str) -> None:
    """(White space inside a name is made single spaces: "tab\tname" is "tab name".)"""
    r = await client.post("/api/auth/guest", json={"displayName": name})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


async def test_a_banned_guest_cannot_come_back_as_a_new_guest_from_that_device_or_address(
    client: httpx.AsyncClient,
) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    troll = await guest(client, "Troll")
    await join(client, troll, room["id"])
    r = await client.post(f"/api/rooms/{room['id']}/bans", json={"userId": troll.id}, headers=host.headers)
    assert r.status_code == 201, r.text
    for again in (await guest(client, "Not a troll"), await guest(client, "Other", device="another-device-000001")):
        refused = await join(client, again, room["id"])  # same device; then same address
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned", refused.text
    # an account is banned by account only: someone else behind the same address gets in
    neighbour = await register(client, "neighbour")
    assert (await join(client, neighbour, room["id"])).status_code == 200


async def test_a_guest_who_signs_up_keeps_their_messages_and_memberships(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    dana = await guest(client, "Dana")
    await join(client, dana, room["id"])
    await client.post(f"/api/chat/{room['id']}/messages", json={"content": "as a guest"}, headers=dana.headers)
    body = {"email": "dana@example.com", "username": "dana", "password": "correct horse battery"}
    r = await client.post("/api/auth/register", json=body, headers=dana.headers)
    assert r.status_code == 201, r.text
    user = r.json()["data"]["user"]
    assert (user["id"], user["isGuest"], user["email"]) == (dana.id, False, "dana@example.com")
    assert (await _roles(client, room["id"]))["dana"] == "member"  # a member now, wherever a guest before
    history = (await client.get(f"/api/chat/{room['id']}/messages")).json()["data"]
    assert [(m["user"]["id"], m["user"]["username"], m["content"]) for m in history] == [
        (dana.id, "dana", "as a guest")
    ]
    login = await client.post("/api/auth/login", json={"email": "dana@example.com", "password": body["password"]})
    assert login.status_code == 200


async def test_a_guest_who_signs_in_brings_what_they_did_to_the_account(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    eve = await register(client, "eve")
    g = await guest(client, "Eve as a guest")
    await join(client, g, room["id"])
    await client.post(f"/api/chat/{room['id']}/messages", json={"content": "hi from a guest"}, headers=g.headers)
    r = await client.post("/api/auth/login", json={"email": eve.email, "password": "correct horse battery"},
                          headers=g.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["data"]["user"]["id"] == eve.id
    assert (await _roles(client, room["id"])) == {"host": "host", "eve": "member"}
    history = (await client.get(f"/api/chat/{room['id']}/messages")).json()["data"]
    assert [(m["user"]["username"], m["content"]) for m in history] == [("eve", "hi from a guest")]
    assert (await client.get("/api/auth/profile", headers=g.headers)).status_code == 401  # the guest is gone


async def test_the_cleanup_removes_unseen_guests_and_their_messages_keep_the_name(
    client: httpx.AsyncClient, services: Services
) -> None:
    admin = await register(client, "admin")
    async with services.db.session() as session:
        await users_service.set_role(session, admin.id, UserRole.ADMIN)
    room = await create_room(client, admin)
    old, recent = await guest(client, "Old guest"), await guest(client, "Recent guest")
    for g in (old, recent):
        await join(client, g, room["id"])
        await client.post(f"/api/chat/{room['id']}/messages", json={"content": f"I am {g.username}"},
                          headers=g.headers)  # fmt: skip
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == old.id).values(last_login_at=utcnow() - timedelta(days=31)))
    r = await client.post("/api/queues/cleanup", json={"daysInactive": 30}, headers=admin.headers)
    job = await wait_job(client, admin, r.json()["data"]["jobId"])
    assert job["state"] == "completed" and job["result"]["guestsRemoved"] == 1, job
    assert set(await _roles(client, room["id"])) == {"admin", "Recent guest"}
    history = (await client.get(f"/api/chat/{room['id']}/messages")).json()["data"]
    assert (history[0]["user"], history[0]["authorName"]) == (None, "Old guest")
    assert history[1]["user"]["username"] == "Recent guest"


async def test_a_guest_does_not_host_while_someone_with_an_account_is_there(client: httpx.AsyncClient) -> None:
    host = await register(client, "host")
    room = await create_room(client, host)
    early = await guest(client, "Early guest")
    await join(client, early, room["id"])  # the longest-standing, but a guest
    later = await register(client, "later")
    await join(client, later, room["id"])
    r = await client.put(f"/api/rooms/{room['id']}/host", json={"userId": early.id}, headers=host.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "cannot_moderate"), r.text
    assert "sign up" in r.json()["error"]["message"]
    assert (await client.post(f"/api/rooms/{room['id']}/leave", headers=host.headers)).status_code == 200
    assert (await _roles(client, room["id"])) == {"Early guest": "guest", "later": "host"}
