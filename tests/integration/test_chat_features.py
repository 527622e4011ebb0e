"""Chat (ADR 0016): replies, reactions, deletion and clearing (logged, restorable), slow mode, the word filter, and
the flood mute; bad input answered with a clear 4xx that changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.integration.helpers import Account, create_room, join, register
from watchparty.core.deps import Services
from watchparty.models import Room


async def _room(client: httpx.AsyncClient) -> tuple[Account, Account, Account, int]:
    host, mod, member = await register(client, "host"), await register(client, "mod"), await register(client, "member")
    room = await create_room(client, host)
    for who in (mod, member):
        await join(client, who, room["id"])
    await client.put(f"/api/rooms/{room['id']}/members/{mod.id}", json={"role": "moderator"}, headers=host.headers)
    return host, mod, member, room["id"]


async def _say(client: httpx.AsyncClient, room_id: int, who: Account, text: str, **extra: Any) -> httpx.Response:
    return await client.post(f"/api/chat/{room_id}/messages", json={"content": text, **extra}, headers=who.headers)


async def _history(client: httpx.AsyncClient, room_id: int) -> list[dict[str, Any]]:
    r = await client.get(f"/api/chat/{room_id}/messages")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def test_a_reply_quotes_the_message_it_answers(client: httpx.AsyncClient) -> None:
    host, _, member, room_id = await _room(client)
    first = (await _say(client, room_id, host, "Which one next? " + "x" * 120)).json()["data"]
    r = await _say(client, room_id, member, "Sintel!", replyTo=first["id"])
    assert r.status_code == 201, r.text
    reply = r.json()["data"]["replyTo"]
    assert reply["id"] == first["id"] and reply["authorName"] == "host"
    assert len(reply["excerpt"]) == 100 and reply["excerpt"].endswith("…")
    assert (await _history(client, room_id))[1]["replyTo"] == reply  # the history (and its cache) carry it
    other = await create_room(client, host, name="other")
    elsewhere = (await _say(client, other["id"], host, "in another room")).json()["data"]
    for bad in (elsewhere["id"], 2_000_000):
        r = await _say(client, room_id, member, "?", replyTo=bad)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_reply"), r.text
    assert len(await _history(client, room_id)) == 2


async def test_reactions_toggle_one_per_person_per_emoji_and_leave_playback_alone(
    client: httpx.AsyncClient, services: Services
) -> None:
    host, mod, member, room_id = await _room(client)
    message = (await _say(client, room_id, host, "the best scene")).json()["data"]
    async with services.db.session() as session:
        before = await session.scalar(select(Room.playback_anchor).where(Room.id == room_id))
    url = f"/api/chat/{room_id}/messages/{message['id']}/reactions"
    for who in (member, member, mod):  # twice by the same person is still one
        r = await client.put(url, json={"emoji": "👍"}, headers=who.headers)
        assert r.status_code == 200, r.text
    r = await client.put(url, json={"emoji": "🎉"}, headers=member.headers)
    assert r.json()["data"] == [
        {"emoji": "👍", "count": 2, "userIds": sorted([member.id, mod.id])},
        {"emoji": "🎉", "count": 1, "userIds": [member.id]},
    ]
    await client.put(url, json={"emoji": "👍", "on": False}, headers=member.headers)
    assert (await _history(client, room_id))[0]["reactions"] == [
        {"emoji": "👍", "count": 1, "userIds": [mod.id]},
        {"emoji": "🎉", "count": 1, "userIds": [member.id]},
    ]
    for bad in ({"emoji": "💩"}, {"emoji": ""}, {"emoji": "👍", "on": "maybe"}):
        r = await client.put(url, json=bad, headers=member.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    outsider = await register(client, "outsider")
    assert (await client.put(url, json={"emoji": "👍"}, headers=outsider.headers)).status_code == 403
    async with services.db.session() as session:
        assert await session.scalar(select(Room.playback_anchor).where(Room.id == room_id)) == before


async def test_deleting_and_clearing_hide_messages_and_the_log_brings_them_back(client: httpx.AsyncClient) -> None:
    host, mod, member, room_id = await _room(client)
    mine = (await _say(client, room_id, member, "oops")).json()["data"]
    theirs = (await _say(client, room_id, host, "spoiler: he dies")).json()["data"]
    await _say(client, room_id, host, "hello")
    assert (
        await client.delete(f"/api/chat/{room_id}/messages/{mine['id']}", headers=member.headers)
    ).status_code == 200
    r = await client.delete(f"/api/chat/{room_id}/messages/{theirs['id']}", headers=member.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_allowed")
    assert (await client.delete(f"/api/chat/{room_id}/messages/{theirs['id']}", headers=mod.headers)).status_code == 200
    assert [m["content"] for m in await _history(client, room_id)] == ["hello"]
    r = await client.delete(f"/api/chat/{room_id}/messages/{theirs['id']}", headers=mod.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "message_not_found")
    log = (await client.get(f"/api/rooms/{room_id}/moderation-log", headers=host.headers)).json()["data"]
    deletion = log[0]
    assert deletion["action"] == "delete" and deletion["details"]["excerpt"] == "spoiler: he dies"
    assert deletion["reversible"] is True  # the member's own deletion is not a moderator action: not logged
    r = await client.post(f"/api/rooms/{room_id}/moderation-log/{deletion['id']}/revert", headers=host.headers)
    assert r.status_code == 200 and r.json()["data"]["action"] == "restore"
    assert [m["content"] for m in await _history(client, room_id)] == ["spoiler: he dies", "hello"]

    assert (await client.post(f"/api/chat/{room_id}/clear", headers=member.headers)).status_code == 403
    r = await client.post(f"/api/chat/{room_id}/clear", headers=mod.headers)
    assert r.status_code == 200 and r.json()["data"] == {"removed": 2}
    assert await _history(client, room_id) == []
    clearing = (await client.get(f"/api/rooms/{room_id}/moderation-log", headers=host.headers)).json()["data"][0]
    await client.post(f"/api/rooms/{room_id}/moderation-log/{clearing['id']}/revert", headers=mod.headers)
    assert [m["content"] for m in await _history(client, room_id)] == ["spoiler: he dies", "hello"]


async def test_slow_mode_holds_members_to_one_message_per_interval(client: httpx.AsyncClient) -> None:
    host, mod, member, room_id = await _room(client)
    r = await client.put(f"/api/rooms/{room_id}/chat-rules", json={"slowModeSeconds": 30}, headers=mod.headers)
    assert r.status_code == 200 and r.json()["data"]["slowModeSeconds"] == 30, r.text
    assert (await client.get(f"/api/rooms/{room_id}")).json()["data"]["slowModeSeconds"] == 30
    assert (await _say(client, room_id, member, "one")).status_code == 201
    r = await _say(client, room_id, member, "two")
    assert (r.status_code, r.json()["error"]["code"]) == (429, "slow_mode")
    assert 25 <= int(r.headers["Retry-After"]) <= 30 and "30 s" in r.json()["error"]["message"]
    for who in (host, mod, mod):  # exempt
        assert (await _say(client, room_id, who, "moderating")).status_code == 201
    r = await client.put(f"/api/rooms/{room_id}/chat-rules", json={"slowModeSeconds": 3601}, headers=host.headers)
    assert r.status_code == 422
    r = await client.put(f"/api/rooms/{room_id}/chat-rules", json={"slowModeSeconds": 0}, headers=member.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_allowed")


async def test_the_word_filter_masks_or_blocks_and_the_host_can_try_it(client: httpx.AsyncClient) -> None:
    host, _, member, room_id = await _room(client)
    rules = {"wordFilter": ["darn", "bad word"], "filterMode": "mask"}
    assert (await client.put(f"/api/rooms/{room_id}/chat-rules", json=rules, headers=host.headers)).status_code == 200
    r = await _say(client, room_id, member, "Darn, that BAD WORD again (darning is fine)")
    assert r.json()["data"]["content"] == "****, that ******** again (darning is fine)"
    test = f"/api/rooms/{room_id}/chat-rules/test"
    r = await client.post(test, json={"text": "oh darn"}, headers=host.headers)
    assert r.json()["data"] == {"verdict": "masked", "text": "oh ****"}
    await client.put(f"/api/rooms/{room_id}/chat-rules", json={"filterMode": "block"}, headers=host.headers)
    r = await _say(client, room_id, member, "darn it")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "filtered")
    assert (await client.post(test, json={"text": "darn"}, headers=host.headers)).json()["data"]["verdict"] == "blocked"
    assert (await client.post(test, json={"text": "fine"}, headers=host.headers)).json()["data"]["verdict"] == "clean"
    assert (await client.post(test, json={"text": "x"}, headers=member.headers)).status_code == 403
    assert len(await _history(client, room_id)) == 1
    too_many = {"wordFilter": [f"w{i}" for i in range(101)]}
    assert (
        await client.put(f"/api/rooms/{room_id}/chat-rules", json=too_many, headers=host.headers)
    ).status_code == 422
    log = (await client.get(f"/api/rooms/{room_id}/moderation-log", headers=host.headers)).json()["data"]
    assert [e["action"] for e in log[:2]] == ["rules", "rules"]


@pytest.mark.parametrize("burst", [20])
async def test_a_flood_mutes_the_sender_after_five(client: httpx.AsyncClient, burst: int) -> None:
    host, _, member, room_id = await _room(client)
    answers = [(await _say(client, room_id, member, f"spam {i}")).status_code for i in range(burst)]
    assert answers[:5] == [201] * 5 and set(answers[5:]) == {403}, answers
    r = await _say(client, room_id, member, "let me talk")
    assert r.json()["error"]["code"] == "muted"
    mute = (await client.get(f"/api/rooms/{room_id}/moderation-log", headers=host.headers)).json()["data"][0]
    assert mute["action"] == "mute" and mute["actor"] is None and mute["details"]["reason"] == "flooding"
    assert len(await _history(client, room_id)) == 5


async def test_the_host_and_moderators_are_not_muted_for_a_burst(client: httpx.AsyncClient) -> None:
    host, mod, _, room_id = await _room(client)
    for who in (host, mod):
        answers = {(await _say(client, room_id, who, f"announcement {i}")).status_code for i in range(12)}
        assert answers == {201}, answers
