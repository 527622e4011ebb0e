"""Every endpoint × {anonymous, user, guest, member, moderator, host, admin}.

The expected statuses are written out by hand from DESIGN.md §2, not derived from the code:
- private rooms are 404 to non-members, admins included; admins get no way into private rooms;
- only the host changes or deletes a room; members leave, invite and post;
- movies are changed by their creator (here: the host) or an admin;
- moderators run the playlist and moderate (kick, ban, mute, the log); only the host hands the room over;
- a guest (here: joined to every room that lets guests in, i.e. all but the private one) watches, chats and
  votes; it creates nothing (rooms, movies, invites, playlist items) and has no profile to change.
Each cell runs on fresh data.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.integration.helpers import PASSWORD, Account, create_movie, create_room, join, register
from tests.media import local_clip_url, local_file_url
from watchparty.core.deps import Services
from watchparty.jobs.queues import EMAIL, outbox_job_id, public_job_id
from watchparty.models import MemberRole, OutboxJob, RoomMember, UserRole
from watchparty.rooms import moderation_flows
from watchparty.rooms.schemas import SanctionIn
from watchparty.users import service as users_service

ROLES = ("anonymous", "user", "guest", "member", "moderator", "host", "admin")
_URL = local_clip_url("queued")
_SRT_BODY = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"
_SRT = local_file_url("matrix.srt", _SRT_BODY)
_BASED = {"baseVersion": "{qv}"}
_MOVE = {"baseVersion": "{qv}", "index": 1}

# method, path, body, expected status for anonymous, user, guest, member, moderator, host, admin
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, int, int, int, int, int, int]]] = [
    ("GET", "/api/health", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/auth/profile", None, (401, 200, 200, 200, 200, 200, 200)),
    ("PUT", "/api/auth/profile", {}, (401, 200, 403, 200, 200, 200, 200)),
    ("POST", "/api/auth/logout-all", None, (401, 200, 200, 200, 200, 200, 200)),
    (
        "POST",
        "/api/auth/change-password",
        {"currentPassword": "correct horse battery", "newPassword": "another horse"},
        (401, 200, 403, 200, 200, 200, 200),
    ),
    ("POST", "/api/auth/guest", {"displayName": "newcomer"}, (201, 201, 201, 201, 201, 201, 201)),
    ("GET", "/api/rooms", None, (200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/rooms", {"name": "new room"}, (401, 201, 403, 201, 201, 201, 201)),
    ("GET", "/api/rooms/mine", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/rooms/{public}", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/rooms/{private}", None, (404, 404, 404, 200, 200, 200, 404)),
    ("PUT", "/api/rooms/{public}", {"name": "renamed"}, (401, 403, 403, 403, 403, 200, 403)),
    ("PUT", "/api/rooms/{private}", {"name": "renamed"}, (401, 404, 404, 403, 403, 200, 404)),
    ("DELETE", "/api/rooms/{public}", None, (401, 403, 403, 403, 403, 200, 403)),
    ("DELETE", "/api/rooms/{private}", None, (401, 404, 404, 403, 403, 200, 404)),
    ("POST", "/api/rooms/{public}/join", None, (401, 200, 200, 200, 200, 200, 200)),
    ("POST", "/api/rooms/{private}/join", None, (401, 404, 404, 200, 200, 200, 404)),
    ("POST", "/api/rooms/{public}/leave", None, (401, 403, 200, 200, 200, 200, 403)),
    ("POST", "/api/rooms/{private}/leave", None, (401, 404, 404, 200, 200, 200, 404)),
    ("POST", "/api/rooms/{public}/invite", {"email": "friend@example.com"}, (401, 403, 403, 201, 201, 201, 403)),
    ("POST", "/api/rooms/{private}/invite", {"email": "friend@example.com"}, (401, 404, 403, 201, 201, 201, 404)),
    ("GET", "/api/rooms/{public}/members", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/rooms/{private}/members", None, (404, 404, 404, 200, 200, 200, 404)),
    ("GET", "/api/movies", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/movies/{movie}", None, (200, 200, 200, 200, 200, 200, 200)),
    (
        "POST",
        "/api/movies",
        {"title": "T", "videoUrl": local_clip_url("v")},
        (401, 201, 403, 201, 201, 201, 201),
    ),
    ("PUT", "/api/movies/{movie}", {"title": "changed"}, (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/api/movies/{movie}/subtitles", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/movies/{movie}/subtitles/{track}.vtt", None, (200, 200, 200, 200, 200, 200, 200)),
    (
        "POST",
        "/api/movies/{movie}/subtitles/by-url",
        {"url": _SRT, "label": "English"},
        (401, 201, 403, 201, 201, 201, 201),
    ),
    # who added the track (here: the host, the movie's creator) or an admin
    ("DELETE", "/api/movies/{movie}/subtitles/{track}", None, (401, 403, 403, 403, 403, 200, 200)),
    ("DELETE", "/api/movies/{movie}", None, (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/api/chat/{public}/messages", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/chat/{unlisted}/messages", None, (403, 403, 200, 200, 200, 200, 403)),
    ("GET", "/api/chat/{private}/messages", None, (404, 404, 404, 200, 200, 200, 404)),
    ("POST", "/api/chat/{public}/messages", {"content": "hi"}, (401, 403, 201, 201, 201, 201, 403)),
    ("POST", "/api/chat/{private}/messages", {"content": "hi"}, (401, 404, 404, 201, 201, 201, 404)),
    ("POST", "/api/rooms/{public}/ws-ticket", None, (401, 403, 201, 201, 201, 201, 403)),
    ("POST", "/api/rooms/{private}/ws-ticket", None, (401, 404, 404, 201, 201, 201, 404)),
    ("GET", "/api/rooms/{public}/sync-stats", None, (401, 403, 200, 200, 200, 200, 200)),
    ("GET", "/api/rooms/{private}/sync-stats", None, (401, 404, 404, 200, 200, 200, 200)),
    ("GET", "/api/cache/stats", None, (401, 403, 403, 403, 403, 403, 200)),
    ("GET", "/api/queues/stats", None, (401, 403, 403, 403, 403, 403, 200)),
    ("GET", "/api/queues/dashboard", None, (401, 403, 403, 403, 403, 403, 200)),
    ("GET", "/api/queues/reports", None, (401, 403, 403, 403, 403, 403, 200)),
    ("POST", "/api/queues/cleanup", {"daysInactive": 30}, (401, 403, 403, 403, 403, 403, 202)),
    ("POST", "/api/queues/report", None, (401, 403, 403, 403, 403, 403, 202)),
    ("POST", "/api/queues/jobs/email-o99999.x/retry", None, (401, 403, 403, 403, 403, 403, 404)),
    # the host's welcome email job: only its owner... which no one is (system mail); admins read every job
    ("GET", "/api/queues/jobs/{host_welcome}", None, (401, 404, 404, 404, 404, 404, 200)),
    # the playlist: {queue} plays {item} with one more after it (version {qv}); {voting} is in vote mode
    ("GET", "/api/rooms/{queue}/playlist", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/rooms/{private}/playlist", None, (404, 404, 404, 200, 200, 200, 404)),
    (
        "POST",
        "/api/rooms/{queue}/playlist/items",
        {"baseVersion": "{qv}", "url": _URL},
        (401, 403, 403, 201, 201, 201, 403),
    ),
    (
        "POST",
        "/api/rooms/{private}/playlist/items",
        {"baseVersion": 0, "url": _URL},
        (401, 404, 404, 201, 201, 201, 404),
    ),
    (
        "POST",
        "/api/rooms/{queue}/playlist/import",
        {"baseVersion": "{qv}", "text": _URL},
        (401, 403, 403, 200, 200, 200, 403),
    ),
    ("DELETE", "/api/rooms/{queue}/playlist/items/{item}?baseVersion={qv}", None, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{queue}/playlist/items/{item}/position", _MOVE, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{voting}/playlist/items/{upcoming}/vote", {"up": True}, (401, 403, 200, 200, 200, 200, 403)),
    ("POST", "/api/rooms/{queue}/playlist/items/{item}/play", _BASED, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{queue}/playlist/next", _BASED, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{queue}/playlist/previous", _BASED, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{queue}/playlist/clear", _BASED, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{queue}/playlist/shuffle", _BASED, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{queue}/playlist", {"baseVersion": "{qv}", "loop": "all"}, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{queue}/playlist", {"baseVersion": "{qv}", "queueCap": 5}, (401, 403, 403, 403, 403, 200, 403)),
    # members may vote to skip, but only while in the room: nobody here has a socket open
    ("PUT", "/api/rooms/{queue}/playlist/skip-vote", {"itemId": "{item}"}, (401, 403, 409, 409, 409, 409, 403)),
    # moderation (ADR 0016): {target} and {target2} are members of {public}; {banned} is banned from it, {target2}
    # muted; {ban_entry} is that ban's entry in the log
    ("POST", "/api/rooms/{public}/members/{target}/kick", None, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{private}/members/{target}/kick", None, (401, 404, 404, 403, 200, 200, 404)),
    ("POST", "/api/rooms/{public}/bans", {"userId": "{target}"}, (401, 403, 403, 403, 201, 201, 403)),
    ("GET", "/api/rooms/{public}/bans", None, (401, 403, 403, 403, 200, 200, 403)),
    ("DELETE", "/api/rooms/{public}/bans/{banned}", None, (401, 403, 403, 403, 200, 200, 403)),
    (
        "POST",
        "/api/rooms/{public}/mutes",
        {"userId": "{target}", "durationSeconds": 600},
        (401, 403, 403, 403, 201, 201, 403),
    ),
    ("GET", "/api/rooms/{public}/mutes", None, (401, 403, 403, 403, 200, 200, 403)),
    ("DELETE", "/api/rooms/{public}/mutes/{target2}", None, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{public}/host", {"userId": "{target}"}, (401, 403, 403, 403, 403, 200, 403)),
    ("GET", "/api/rooms/{public}/moderation-log", None, (401, 403, 403, 403, 200, 200, 403)),
    ("GET", "/api/rooms/{private}/moderation-log", None, (401, 404, 404, 403, 200, 200, 404)),
    ("POST", "/api/rooms/{public}/moderation-log/{ban_entry}/revert", None, (401, 403, 403, 403, 200, 200, 403)),
    # chat moderation and reactions: {msg} is the host's message in {public}
    ("DELETE", "/api/chat/{public}/messages/{msg}", None, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/chat/{public}/clear", None, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/chat/{public}/messages/{msg}/reactions", {"emoji": "👍"}, (401, 403, 200, 200, 200, 200, 403)),
    ("GET", "/api/rooms/{public}/chat-rules", None, (401, 403, 403, 403, 200, 200, 403)),
    ("PUT", "/api/rooms/{public}/chat-rules", {"slowModeSeconds": 5}, (401, 403, 403, 403, 200, 200, 403)),
    ("POST", "/api/rooms/{public}/chat-rules/test", {"text": "hi"}, (401, 403, 403, 403, 200, 200, 403)),
]


async def _world(
    client: httpx.AsyncClient, services: Services, needs: set[str]
) -> tuple[dict[str, Account | None], dict[str, int]]:
    """The accounts and rooms every cell starts from; the playlist rooms and the chat message only for the rows
    that name them (`needs`: the placeholders in the row's path and body), which keeps 500 and more cells quick."""
    host = await register(client, "host")  # by the API: its welcome email is a row's job
    async with services.db.session() as session:  # the others straight to the database: no mail to send
        password_hash = await services.hasher.hash(PASSWORD)
        member, user, admin = [
            await _account(session, services, name, password_hash) for name in ("member", "someone", "admin")
        ]
        await users_service.set_role(session, admin.id, UserRole.ADMIN)
    movie = await create_movie(client, host)
    public = await create_room(client, host, name="public")
    unlisted = await create_room(client, host, name="unlisted", visibility="unlisted")
    private = await create_room(client, host, name="private", visibility="private", password="secret-pw")
    await join(client, member, public["id"])
    await join(client, member, unlisted["id"])
    await join(client, member, private["id"], password="secret-pw")
    rooms = [public, unlisted, private]
    ids: dict[str, Any] = {}
    if needs & {"queue", "voting"}:
        queue = await create_room(client, host, name="queue", movieId=movie["id"])
        await join(client, member, queue["id"])
        r = await client.post(f"/api/rooms/{queue['id']}/playlist/items", json={"baseVersion": 0, "url": _URL},
                              headers=host.headers)  # fmt: skip
        listing = r.json()["data"]
        voting = await create_room(client, host, name="voting", movieId=movie["id"])
        await join(client, member, voting["id"])
        await client.put(f"/api/rooms/{voting['id']}/playlist", json={"baseVersion": 0, "mode": "vote"},
                         headers=host.headers)  # fmt: skip
        r = await client.post(f"/api/rooms/{voting['id']}/playlist/items", json={"baseVersion": 1, "url": _URL},
                              headers=host.headers)  # fmt: skip
        rooms += [queue, voting]
        ids |= {"queue": queue["id"], "item": listing["items"][0]["id"], "qv": listing["version"],
                "voting": voting["id"], "upcoming": r.json()["data"]["items"][1]["id"]}  # fmt: skip
    # the rest of the world is written straight to the database: the cells stay quick (they are 400 and more)
    async with services.db.session() as session:
        made = {}
        for name in ("moderator", "target", "target2", "banned"):
            made[name] = await users_service.create_user(
                session, email=f"{name}@example.com", username=name, password_hash=password_hash
            )
        for room in rooms:
            session.add(RoomMember(room_id=room["id"], user_id=made["moderator"].id, role=MemberRole.MODERATOR))
        for who, room in (("target", public), ("target", private), ("target2", public)):
            session.add(RoomMember(room_id=room["id"], user_id=made[who].id))
        visitor = await users_service.create_guest(session, "visitor", device_hash=None, address="127.0.0.1")
        for room in rooms:
            if room is not private:
                session.add(RoomMember(room_id=room["id"], user_id=visitor.id, role=MemberRole.GUEST))
        host_user = await users_service.get_user(session, host.id)
        assert host_user is not None
        ban = await moderation_flows.ban(session, host_user, public["id"], SanctionIn(user_id=made["banned"].id))
        await moderation_flows.mute(session, host_user, public["id"], SanctionIn(user_id=made["target2"].id))
    moderator = Account(made["moderator"].id, "moderator@example.com", "moderator",
                        services.tokens.issue_access(made["moderator"].id, 0), "")  # fmt: skip
    guest = Account(visitor.id, "", "visitor", services.tokens.issue_access(visitor.id, 0), "")
    if "msg" in needs:
        said = await client.post(f"/api/chat/{public['id']}/messages", json={"content": "hello"}, headers=host.headers)
        ids["msg"] = said.json()["data"]["id"]
    if "track" in needs:
        added = await client.post(f"/api/movies/{movie['id']}/subtitles", files={"file": ("a.srt", _SRT_BODY)},
                                  data={"label": "English"}, headers=host.headers)  # fmt: skip
        ids["track"] = added.json()["data"]["id"]
    accounts: dict[str, Account | None] = {
        "anonymous": None,
        "user": user,
        "guest": guest,
        "member": member,
        "moderator": moderator,
        "host": host,
        "admin": admin,
    }
    async with services.db.session() as session:
        welcome = await session.scalar(select(OutboxJob).order_by(OutboxJob.id).limit(1))
    assert welcome is not None and welcome.data["to"] == host.email
    ids |= {
        "public": public["id"],
        "unlisted": unlisted["id"],
        "private": private["id"],
        "movie": movie["id"],
        "host_welcome": public_job_id(EMAIL, outbox_job_id(welcome.id, welcome.nonce)),
        "target": made["target"].id,
        "target2": made["target2"].id,
        "banned": made["banned"].id,
        "ban_entry": ban.id,
    }
    return accounts, ids


async def _account(session: Any, services: Services, name: str, password_hash: str) -> Account:
    made = await users_service.create_user(
        session, email=f"{name}@example.com", username=name, password_hash=password_hash
    )
    return Account(made.id, made.email or "", name, services.tokens.issue_access(made.id, 0), "")


def _fill(body: dict[str, Any] | None, ids: dict[str, Any]) -> dict[str, Any] | None:
    """A body with its "{name}" values replaced by the world's numbers (versions and ids are ints)."""
    if body is None:
        return None
    return {k: ids[v[1:-1]] if isinstance(v, str) and v[:1] == "{" and v[-1:] == "}" else v for k, v in body.items()}


@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_authorization(
    client: httpx.AsyncClient,
    services: Services,
    role_index: int,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: tuple[int, ...],
) -> None:
    needs = set(re.findall(r"\{(\w+)\}", path + json.dumps(body, ensure_ascii=False)))
    accounts, ids = await _world(client, services, needs)
    account = accounts[ROLES[role_index]]
    headers = account.headers if account else {}
    r = await client.request(method, path.format(**ids), json=_fill(body, ids), headers=headers)
    assert r.status_code == expected[role_index], r.text
    if r.headers["content-type"].startswith("application/json"):  # every answer but a file (a .vtt track)
        assert r.json()["success"] is (r.status_code < 400)
