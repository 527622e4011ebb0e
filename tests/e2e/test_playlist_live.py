"""The playlist live (issue 14) on two real `watchparty serve` processes, one Redis and one PostgreSQL, with real
WebSocket clients: concurrent edits from both processes over REST and the socket, each applied or refused with
the current list, and the same final list for everyone; the live room following the list. Every frame received
is checked against its definition (tests/e2e/live.py)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from tests.e2e.conftest import LiveServer
from tests.e2e.live import connect, member, next_of, recv, user
from tests.media import local_clip_url

pytestmark = pytest.mark.slow

URL = local_clip_url("live-{}")


async def _room(server: LiveServer, host: dict[str, str]) -> int:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post("/api/rooms", json={"name": "Queue"}, headers=host)
        assert r.status_code == 201, r.text
        return int(r.json()["data"]["id"])


async def _listing(server: LiveServer, room: int, who: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.get(f"/api/rooms/{room}/playlist", headers=who)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data


class Watcher:
    """A socket that keeps the playlist from its events, as a client should (docs/protocol.md, The playlist)."""

    def __init__(self, conn: ClientConnection, listing: dict[str, Any]) -> None:
        self.conn, self.version, self.order = conn, listing["version"], [i["id"] for i in listing["items"]]
        self.gaps = 0
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            msg = await recv(self.conn)
            if msg["type"] == "playlist" and msg["version"] > self.version:
                self.gaps += msg["version"] != self.version + 1
                self.version, self.order = msg["version"], msg["order"]


async def test_concurrent_edits_from_two_processes_each_apply_or_are_refused_and_agree(
    two: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two
    host = await user(a, "plhost")
    room = await _room(a, host)
    mod = await member(b, room, "plmod")
    async with httpx.AsyncClient(base_url=a.url) as http:
        members = (await http.get(f"/api/rooms/{room}/members", headers=host)).json()["data"]
        mod_id = next(m["user"]["id"] for m in members if m["user"]["username"] == "plmod")
        r = await http.put(f"/api/rooms/{room}/members/{mod_id}", json={"role": "moderator"}, headers=host)
        assert r.status_code == 200, r.text
    start = await _listing(a, room, host)
    watchers = []
    for server, who in ((a, host), (b, mod)):
        conn, welcome = await connect(server, room, who)
        assert welcome["type"] == "welcome"
        watchers.append(Watcher(conn, start))
    socket_conn, _ = await connect(b, room, mod)  # the moderator also edits over the socket, on process B

    applied_adds: list[str] = []
    removed: list[int] = []
    outcomes = {"applied": 0, "refused": 0}
    deadline = time.monotonic() + 4

    async def rest_driver(server: LiveServer, who: dict[str, str], tag: str, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a test's choices, not secrets
        listing = start
        i = 0
        async with httpx.AsyncClient(base_url=server.url, headers=who, timeout=30) as http:
            while time.monotonic() < deadline:
                items = [item["id"] for item in listing["items"]]
                if items and rng.random() < 0.3:
                    victim = rng.choice(items)
                    r = await http.delete(f"/api/rooms/{room}/playlist/items/{victim}",
                                          params={"baseVersion": listing["version"]})  # fmt: skip
                    kind: tuple[str, Any] = ("remove", victim)
                elif items and rng.random() < 0.5:
                    move = {"baseVersion": listing["version"], "index": rng.randrange(len(items))}
                    r = await http.put(f"/api/rooms/{room}/playlist/items/{rng.choice(items)}/position", json=move)
                    kind = ("move", None)
                else:
                    name = f"{tag}-{i}"
                    i += 1
                    add = {"baseVersion": listing["version"], "url": URL.format(name), "title": name}
                    r = await http.post(f"/api/rooms/{room}/playlist/items", json=add)
                    kind = ("add", name)
                if r.status_code in (200, 201):
                    listing = r.json()["data"]
                    outcomes["applied"] += 1
                    if kind[0] == "add":
                        applied_adds.append(kind[1])
                    elif kind[0] == "remove":
                        removed.append(kind[1])
                else:
                    assert r.status_code == 409, r.text
                    error = r.json()["error"]
                    assert error["code"] == "stale_playlist", error
                    listing = error["details"][0]["playlist"]
                    outcomes["refused"] += 1

    async def socket_driver() -> None:
        version = start["version"]
        i = 0
        while time.monotonic() < deadline:
            name = f"sock-{i}"
            i += 1
            version = await socket_add(name, version)

    async def socket_add(name: str, version: int) -> int:
        """One add over the socket, on `version`: applied (our own event) or refused with the list; one refused as
        too fast (`rate_limited`: 10 control messages a second) is no outcome and is sent again. The version after."""
        while True:
            add = {"type": "playlist", "op": "add", "baseVersion": version, "url": URL.format(name), "title": name}
            await socket_conn.send(json.dumps(add))
            while True:
                msg = await recv(socket_conn)
                if msg["type"] == "error":
                    assert msg["code"] == "rate_limited", msg
                    await asyncio.sleep(0.3)
                    break
                if msg["type"] == "rejected":
                    assert msg["reason"] == "stale_version" and msg["playlist"] is not None, msg
                    outcomes["refused"] += 1
                    return int(msg["playlist"]["version"])
                if msg["type"] != "playlist":
                    continue
                mine = (
                    msg["op"] == "add" and msg["by"] == mod_id and name in {i["movie"]["title"] for i in msg["items"]}
                )
                if mine:
                    outcomes["applied"] += 1
                    applied_adds.append(name)
                    return int(msg["version"])
                version = max(version, msg["version"])  # another's change: ours will be refused as stale

    await asyncio.gather(rest_driver(a, host, "a", 1), rest_driver(b, mod, "b", 2), socket_driver())
    final = await _listing(b, room, mod)
    assert outcomes["applied"] >= 10 and outcomes["refused"] >= 1, outcomes
    assert final["version"] == start["version"] + outcomes["applied"]  # every applied operation, and only those
    titles = [item["movie"]["title"] for item in final["items"]]
    assert len(titles) == len(set(titles))  # nothing twice
    assert len(final["items"]) == len(applied_adds) - len(removed)  # nothing lost
    assert set(titles) <= set(applied_adds)
    async with asyncio.timeout(10):  # every viewer, on both processes, ends on the same list
        while any(w.version != final["version"] for w in watchers):  # noqa: ASYNC110 - the readers fill these in
            await asyncio.sleep(0.05)
    for w in watchers:
        assert w.order == [item["id"] for item in final["items"]]
        w.task.cancel()
        await w.conn.close()
    await socket_conn.close()


async def test_the_live_room_follows_the_list_on_both_processes(two: tuple[LiveServer, LiveServer]) -> None:
    a, b = two
    host = await user(a, "plfollow")
    room = await _room(a, host)
    guest = await member(b, room, "plguest")
    version = 0
    async with httpx.AsyncClient(base_url=a.url, headers=host) as http:
        for name in ("one", "two", "three"):
            r = await http.post(f"/api/rooms/{room}/playlist/items",
                                json={"baseVersion": version, "url": URL.format(name), "title": name})  # fmt: skip
            version = r.json()["data"]["version"]
        listing = r.json()["data"]
    ids = [item["id"] for item in listing["items"]]
    conn_h, welcome = await connect(a, room, host)
    conn_g, welcome_g = await connect(b, room, guest)
    assert welcome["state"]["itemId"] == ids[0] == welcome_g["state"]["itemId"]
    assert welcome["skip"] == {"itemId": ids[0], "votes": 0, "voters": [], "needed": 1}
    await conn_h.send(json.dumps({"type": "playlist", "op": "next", "baseVersion": version}))
    for conn in (conn_h, conn_g):
        state = await next_of(conn, "state")
        assert state["cause"] == "media" or state["cause"] == "skip"
        assert state["state"]["itemId"] == ids[1]
        event = await next_of(conn, "playlist")
        assert event["op"] == "current" and event["currentItemId"] == ids[1]
    await conn_g.send(json.dumps({"type": "playlist", "op": "next", "baseVersion": event["version"]}))
    refused = await next_of(conn_g, "rejected")
    assert refused["reason"] == "forbidden"  # a member does not control playback
    await conn_g.send(json.dumps({"type": "voteSkip", "itemId": ids[0]}))  # not the one playing
    assert (await next_of(conn_g, "rejected"))["reason"] == "invalid"
    async with httpx.AsyncClient(base_url=a.url) as http:  # over REST, on the other process: the same vote
        r = await http.put(f"/api/rooms/{room}/playlist/skip-vote", json={"itemId": ids[0]}, headers=guest)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_playing")
        outsider = await user(a, "ploutsider")
        r = await http.put(f"/api/rooms/{room}/playlist/skip-vote", json={"itemId": ids[1]}, headers=outsider)
        assert r.status_code == 403
        version = (await _listing(a, room, host))["version"]
        r = await http.put(f"/api/rooms/{room}/playlist", json={"baseVersion": version, "skipRatio": 1}, headers=host)
        assert r.status_code == 200, r.text
        event = await next_of(conn_g, "playlist")
        r = await http.put(f"/api/rooms/{room}/playlist/skip-vote", json={"itemId": ids[1]}, headers=guest)
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {
            "itemId": ids[1],
            "votes": 1,
            "voters": [r.json()["data"]["voters"][0]],
            "needed": 2,
        }
    for conn in (conn_h, conn_g):  # every viewer sees the count: both must vote at ratio 1
        votes = await next_of(conn, "skipVotes")
        assert (votes["itemId"], votes["votes"], votes["needed"]) == (ids[1], 1, 2)
    async with httpx.AsyncClient(base_url=b.url) as http:  # the guest takes it back, on process B
        r = await http.put(f"/api/rooms/{room}/playlist/skip-vote", json={"itemId": ids[1], "vote": False},
                           headers=guest)  # fmt: skip
        assert r.json()["data"]["votes"] == 0
    await conn_g.send(json.dumps({"type": "playlist", "op": "move", "baseVersion": event["version"]}))
    assert (await next_of(conn_g, "error"))["code"] == "invalid"  # a move needs its item and index
    async with httpx.AsyncClient(base_url=b.url, headers=host) as http:  # the playing item removed, on process B
        r = await http.delete(f"/api/rooms/{room}/playlist/items/{ids[1]}", params={"baseVersion": event["version"]})
        assert r.status_code == 200, r.text
    for conn in (conn_h, conn_g):
        state = await next_of(conn, "state")
        assert state["state"]["itemId"] == ids[2] and state["state"]["paused"]  # it was paused: it stays paused
    for conn in (conn_h, conn_g):
        await conn.close()
