"""Moderation over REST (ADR 0016): kick, ban, mute, the host hand-over and the audit log that undoes them; every
kind of bad input answered with a clear 4xx that changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.integration.helpers import Account, create_room, join, link_token, register
from tests.smtp import Mailbox
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.models import RoomSanction, UserRole
from watchparty.users import service as users_service


async def _room(client: httpx.AsyncClient, **fields: Any) -> tuple[Account, Account, Account, int]:
    """A room with its host, a moderator and a member."""
    host, mod, member = await register(client, "host"), await register(client, "mod"), await register(client, "member")
    room = await create_room(client, host, **fields)
    for who in (mod, member):
        r = await join(client, who, room["id"], password=fields.get("password"))
        assert r.status_code == 200, r.text
    r = await client.put(f"/api/rooms/{room['id']}/members/{mod.id}", json={"role": "moderator"}, headers=host.headers)
    assert r.status_code == 200, r.text
    return host, mod, member, room["id"]


async def _members(client: httpx.AsyncClient, room_id: int, who: Account) -> dict[str, str]:
    r = await client.get(f"/api/rooms/{room_id}/members", headers=who.headers)
    assert r.status_code == 200, r.text
    return {m["user"]["username"]: m["role"] for m in r.json()["data"]}


async def _log(client: httpx.AsyncClient, room_id: int, who: Account) -> list[dict[str, Any]]:
    r = await client.get(f"/api/rooms/{room_id}/moderation-log", headers=who.headers)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["data"]
    return entries


async def _chat(client: httpx.AsyncClient, room_id: int, who: Account, text: str = "hi") -> httpx.Response:
    return await client.post(f"/api/chat/{room_id}/messages", json={"content": text}, headers=who.headers)


async def test_a_kick_removes_the_member_who_may_come_back_and_the_log_can_let_them_back(
    client: httpx.AsyncClient,
) -> None:
    host, mod, member, room_id = await _room(client)
    r = await client.post(f"/api/rooms/{room_id}/members/{member.id}/kick", json={"reason": "spoilers"},
                          headers=mod.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    entry = r.json()["data"]
    assert entry["action"] == "kick" and entry["actor"]["username"] == "mod" and entry["target"]["username"] == "member"
    assert entry["details"] == {"role": "member", "reason": "spoilers"} and entry["reversible"] is True
    assert "member" not in await _members(client, room_id, host)
    assert (await _chat(client, room_id, member)).status_code == 403  # not a member any more
    r = await client.post(f"/api/rooms/{room_id}/moderation-log/{entry['id']}/revert", headers=host.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["action"] == "readmit" and r.json()["data"]["details"] == {"reverts": entry["id"]}
    assert (await _members(client, room_id, host))["member"] == "member"
    log = await _log(client, room_id, mod)
    assert [e["action"] for e in log] == ["readmit", "kick", "role"]  # newest first; the moderator's promotion too
    assert log[1]["revertedBy"]["username"] == "host" and log[1]["reversible"] is False
    again = await client.post(f"/api/rooms/{room_id}/moderation-log/{entry['id']}/revert", headers=host.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_reversible"
    # a kicked member joins again by themselves (a ban is what keeps people out)
    await client.post(f"/api/rooms/{room_id}/members/{member.id}/kick", headers=host.headers)
    assert (await join(client, member, room_id)).status_code == 200


async def test_a_ban_keeps_the_account_out_until_it_is_lifted_or_expires(
    client: httpx.AsyncClient, services: Services
) -> None:
    host, mod, member, room_id = await _room(client, password="room-pw")
    r = await client.post(f"/api/rooms/{room_id}/bans", json={"userId": member.id, "durationSeconds": 3600,
                          "reason": "trolling"}, headers=mod.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    entry = r.json()["data"]
    assert entry["details"]["role"] == "member" and entry["details"]["until"] is not None
    assert "member" not in await _members(client, room_id, host)
    refused = await join(client, member, room_id, password="room-pw")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"
    assert "until" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"][0]["reason"] == "trolling"
    ticket = await client.post(f"/api/rooms/{room_id}/ws-ticket", headers=member.headers)
    assert ticket.status_code == 403
    bans = (await client.get(f"/api/rooms/{room_id}/bans", headers=mod.headers)).json()["data"]
    assert [(b["user"]["username"], b["reason"], b["createdBy"]["username"]) for b in bans] == [
        ("member", "trolling", "mod")
    ]
    # lifted by hand: back in with the password
    r = await client.delete(f"/api/rooms/{room_id}/bans/{member.id}", headers=host.headers)
    assert r.status_code == 200 and r.json()["data"]["details"] == {"reverts": entry["id"]}
    assert (await join(client, member, room_id, password="room-pw")).status_code == 200
    assert (await client.delete(f"/api/rooms/{room_id}/bans/{member.id}", headers=host.headers)).status_code == 404
    # a ban that runs out lets them in without anyone lifting it
    await client.post(f"/api/rooms/{room_id}/bans", json={"userId": member.id, "durationSeconds": 60},
                      headers=host.headers)  # fmt: skip
    assert (await join(client, member, room_id, password="room-pw")).status_code == 403
    async with services.db.session() as session:
        await session.execute(update(RoomSanction).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await join(client, member, room_id, password="room-pw")).status_code == 200
    assert (await client.get(f"/api/rooms/{room_id}/bans", headers=host.headers)).json()["data"] == []


async def test_a_banned_person_is_refused_by_an_invite_too(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    host, _, member, room_id = await _room(client, visibility="private", password="room-pw")
    await client.post(f"/api/rooms/{room_id}/bans", json={"userId": member.id}, headers=host.headers)
    r = await client.post(f"/api/rooms/{room_id}/invite", json={"email": member.email}, headers=host.headers)
    assert r.status_code == 201, r.text
    token = link_token(await mailbox.one_to(member.email, "invited you"), r"http://watchparty\.test/invite/([\w-]+)")
    refused = await join(client, member, room_id, inviteToken=token)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"
    # the invite was not spent on a refusal: once the ban is lifted, it still admits
    await client.delete(f"/api/rooms/{room_id}/bans/{member.id}", headers=host.headers)
    assert (await join(client, member, room_id, inviteToken=token)).status_code == 200


async def test_reverting_a_ban_gives_back_the_membership_it_took(client: httpx.AsyncClient) -> None:
    host, mod, _, room_id = await _room(client, visibility="private", password="room-pw")
    r = await client.post(f"/api/rooms/{room_id}/bans", json={"userId": mod.id}, headers=host.headers)
    assert r.status_code == 201 and r.json()["data"]["details"]["until"] is None  # until lifted
    assert (await join(client, mod, room_id, password="room-pw")).json()["error"]["code"] == "banned"
    r = await client.post(f"/api/rooms/{room_id}/moderation-log/{r.json()['data']['id']}/revert", headers=host.headers)
    assert r.status_code == 200 and r.json()["data"]["action"] == "unban"
    assert (await _members(client, room_id, host))["mod"] == "moderator"  # the role it had, too


async def test_a_mute_refuses_chat_with_a_clear_error_until_lifted_or_expired(
    client: httpx.AsyncClient, services: Services
) -> None:
    host, mod, member, room_id = await _room(client)
    assert (await _chat(client, room_id, member)).status_code == 201
    r = await client.post(f"/api/rooms/{room_id}/mutes", json={"userId": member.id, "durationSeconds": 600},
                          headers=mod.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    refused = await _chat(client, room_id, member)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "muted"
    assert refused.json()["error"]["message"].startswith("You are muted in this room until ")
    assert (await _members(client, room_id, host))["member"] == "member"  # still in the room
    mutes = (await client.get(f"/api/rooms/{room_id}/mutes", headers=host.headers)).json()["data"]
    assert [m["user"]["username"] for m in mutes] == ["member"]
    assert (await client.delete(f"/api/rooms/{room_id}/mutes/{member.id}", headers=mod.headers)).status_code == 200
    assert (await _chat(client, room_id, member)).status_code == 201
    await client.post(f"/api/rooms/{room_id}/mutes", json={"userId": member.id, "durationSeconds": 60},
                      headers=mod.headers)  # fmt: skip
    async with services.db.session() as session:
        await session.execute(update(RoomSanction).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await _chat(client, room_id, member)).status_code == 201
    history = (await client.get(f"/api/chat/{room_id}/messages")).json()["data"]
    assert len(history) == 3  # the refused message was never stored


async def test_the_host_hands_the_room_over_and_the_log_hands_it_back(client: httpx.AsyncClient) -> None:
    host, _, member, room_id = await _room(client)
    r = await client.put(f"/api/rooms/{room_id}/host", json={"userId": member.id}, headers=host.headers)
    assert r.status_code == 200, r.text
    entry = r.json()["data"]
    assert entry["details"] == {"from": "member", "to": "host"}
    assert await _members(client, room_id, host) == {"host": "moderator", "mod": "moderator", "member": "host"}
    assert (await client.get(f"/api/rooms/{room_id}")).json()["data"]["host"]["username"] == "member"
    # the old host has no host rights now; the new one does
    assert (await client.put(f"/api/rooms/{room_id}", json={"name": "mine"}, headers=host.headers)).status_code == 403
    revert = f"/api/rooms/{room_id}/moderation-log/{entry['id']}/revert"
    assert (await client.post(revert, headers=host.headers)).status_code == 403  # only the host hands it on
    r = await client.post(revert, headers=member.headers)
    assert r.status_code == 200, r.text
    assert (await _members(client, room_id, host))["host"] == "host"
    assert (await client.post(revert, headers=host.headers)).json()["error"]["code"] == "not_reversible"


async def test_a_role_change_is_logged_and_undone_from_the_log(client: httpx.AsyncClient) -> None:
    host, mod, _, room_id = await _room(client)
    role = (await _log(client, room_id, host))[0]
    assert role["action"] == "role" and role["details"] == {"from": "member", "to": "moderator"}
    r = await client.post(f"/api/rooms/{room_id}/moderation-log/{role['id']}/revert", headers=host.headers)
    assert r.status_code == 200, r.text
    assert (await _members(client, room_id, host))["mod"] == "member"
    assert (await client.get(f"/api/rooms/{room_id}/moderation-log", headers=mod.headers)).status_code == 403


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "code"),
    [
        ("host", "POST", "/members/{host}/kick", None, 403, "cannot_moderate"),  # yourself
        ("mod", "POST", "/members/{host}/kick", None, 403, "cannot_moderate"),  # the host
        ("mod", "POST", "/bans", {"userId": "{other_mod}"}, 403, "cannot_moderate"),  # a moderator, by a moderator
        ("host", "POST", "/bans", {"userId": "{admin}"}, 403, "cannot_moderate"),  # a site administrator
        ("host", "POST", "/bans", {"userId": 2_000_000}, 404, "user_not_found"),
        ("host", "POST", "/members/2000000/kick", None, 404, "user_not_found"),
        ("host", "POST", "/members/{outsider}/kick", None, 404, "member_not_found"),
        ("host", "POST", "/bans", {"userId": "{member}", "durationSeconds": 0}, 422, "validation_error"),
        ("host", "POST", "/bans", {"userId": "{member}", "durationSeconds": 315_360_000}, 422, "validation_error"),
        ("host", "POST", "/mutes", {"userId": "{member}", "durationSeconds": -5}, 422, "validation_error"),
        ("host", "POST", "/mutes", {"userId": "{member}", "reason": "x" * 201}, 422, "validation_error"),
        ("member", "POST", "/members/{mod}/kick", None, 403, "not_allowed"),
        ("member", "POST", "/mutes", {"userId": "{mod}"}, 403, "not_allowed"),
        ("mod", "PUT", "/host", {"userId": "{member}"}, 403, "not_allowed"),
        ("host", "PUT", "/host", {"userId": "{outsider}"}, 404, "member_not_found"),
        ("host", "PUT", "/host", {"userId": "{host}"}, 403, "cannot_moderate"),
        ("host", "DELETE", "/mutes/{member}", None, 404, "not_sanctioned"),
        ("host", "POST", "/moderation-log/2000000/revert", None, 404, "entry_not_found"),
    ],
)
async def test_bad_moderation_gets_a_clear_error_and_changes_nothing(
    client: httpx.AsyncClient,
    services: Services,
    who: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    host, mod, member, room_id = await _room(client)
    other_mod, admin, outsider = (
        await register(client, "mod2"),
        await register(client, "admin"),
        await register(client, "outsider"),
    )
    await join(client, other_mod, room_id)
    await join(client, admin, room_id)
    await client.put(f"/api/rooms/{room_id}/members/{other_mod.id}", json={"role": "moderator"}, headers=host.headers)
    async with services.db.session() as session:
        await users_service.set_role(session, admin.id, UserRole.ADMIN)
    ids = {"host": host.id, "mod": mod.id, "other_mod": other_mod.id, "member": member.id, "admin": admin.id,
           "outsider": outsider.id}  # fmt: skip
    accounts = {"host": host, "mod": mod, "member": member}
    before = (await _members(client, room_id, host), await _log(client, room_id, host))
    filled = {k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v for k, v in (body or {}).items()}
    r = await client.request(method, f"/api/rooms/{room_id}{path.format(**ids)}", json=filled or None,
                             headers=accounts[who].headers)  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert r.json()["error"]["message"]
    assert (await _members(client, room_id, host), await _log(client, room_id, host)) == before
    assert (await client.get(f"/api/rooms/{room_id}/bans", headers=host.headers)).json()["data"] == []
