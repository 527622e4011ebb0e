"""Real WebSocket clients against two real `watchparty serve` processes on one Redis: tickets, refusals before
accept, ordered commands across processes, chat (socket and REST) live, resume, and the close codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.conftest import LiveServer
from tests.e2e.live import connect, member, next_of, read_until_closed, recv, ticket, user, ws_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def world(two: tuple[LiveServer, LiveServer]) -> dict[str, Any]:
    a, _ = two
    host, guest, stranger = await user(a, "rthost"), await user(a, "rtguest"), await user(a, "rtstranger")
    async with httpx.AsyncClient(base_url=a.url) as http:
        room = (await http.post("/api/rooms", json={"name": "Live"}, headers=host)).json()["data"]
        assert (await http.post(f"/api/rooms/{room['id']}/join", headers=guest)).status_code == 200
    return {"room": room["id"], "host": host, "guest": guest, "stranger": stranger}


async def test_commands_on_two_processes_reach_everyone_in_order(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    a, b = two
    room = world["room"]
    host, welcome_a = await connect(a, room, world["host"])
    guest, welcome_b = await connect(b, room, world["guest"])
    try:
        assert welcome_a["type"] == welcome_b["type"] == "welcome"
        assert welcome_b["params"]["seekFromMs"] == 400
        version = welcome_b["state"]["version"]
        await host.send(json.dumps({"type": "command", "action": "play", "baseVersion": version}))
        seen_a, seen_b = await next_of(host, "state"), await next_of(guest, "state")
        assert seen_a == seen_b and seen_b["state"]["paused"] is False and seen_b["state"]["version"] == version + 1
        assert seen_b["executeAt"] > welcome_b["serverTime"]
        # a member without control rights is told so
        await guest.send(json.dumps({"type": "command", "action": "pause", "baseVersion": version + 1}))
        rejected = await next_of(guest, "rejected")
        assert rejected["reason"] == "forbidden"
        # a stale version loses
        await host.send(json.dumps({"type": "command", "action": "pause", "baseVersion": version}))
        assert (await next_of(host, "rejected"))["reason"] == "stale_version"
        # clock sync
        await guest.send(json.dumps({"type": "ping", "id": 1, "t0": 123.0}))
        pong = await next_of(guest, "pong")
        assert pong["id"] == 1 and pong["t0"] == 123.0 and pong["t2"] >= pong["t1"]
        # chat over the socket and over REST both arrive live, on both processes
        await guest.send(json.dumps({"type": "chat", "content": "hello from b"}))
        for conn in (host, guest):
            chat = await next_of(conn, "chat")
            assert chat["message"]["content"] == "hello from b" and chat["message"]["videoPosition"] is not None
        async with httpx.AsyncClient(base_url=a.url) as http:
            r = await http.post(f"/api/chat/{room}/messages", json={"content": "via rest"}, headers=world["host"])
            assert r.status_code == 201
        assert (await next_of(guest, "chat"))["message"]["content"] == "via rest"
        # bad input gets the documented error, and the connection stays usable
        for frame, code in (("{nope", "bad_json"), ('{"type": "dance"}', "unknown_type")):
            await guest.send(frame)
            assert (await next_of(guest, "error"))["code"] == code
        await guest.send(json.dumps({"type": "ping", "id": 2, "t0": 1.0}))
        assert (await next_of(guest, "pong"))["id"] == 2
    finally:
        await host.close()
        await guest.close()


async def test_refusals_before_accept(two: tuple[LiveServer, LiveServer], world: dict[str, Any]) -> None:
    a, _ = two
    room = world["room"]
    refusals = [
        ws_url(a, room, "not-a-ticket"),
        ws_url(a, room, ""),
    ]
    for url in refusals:
        with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
            await websockets.connect(url)
        assert caught.value.response.status_code == 403
    # a used ticket
    t = await ticket(a, room, world["guest"])
    conn = await websockets.connect(ws_url(a, room, t))
    await conn.close()
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(ws_url(a, room, t))
    # a foreign Origin
    t = await ticket(a, room, world["guest"])
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(ws_url(a, room, t), origin="https://evil.example")  # type: ignore[arg-type]
    t = await ticket(a, room, world["guest"])
    ok = await websockets.connect(ws_url(a, room, t), origin="https://good.example")  # type: ignore[arg-type]
    await ok.close()
    # a non-member gets no ticket
    async with httpx.AsyncClient(base_url=a.url) as http:
        r = await http.post(f"/api/rooms/{room}/ws-ticket", headers=world["stranger"])
        assert r.status_code == 403
    # after accept, a first frame that is not hello gets the documented error and close code
    conn = await websockets.connect(ws_url(a, room, await ticket(a, room, world["guest"])))
    await conn.send(json.dumps({"type": "ready"}))
    assert (await next_of(conn, "error"))["code"] == "invalid"
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await read_until_closed(conn)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_resume_replays_missed_events_exactly_once(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    a, b = two
    room = world["room"]
    host, _ = await connect(a, room, world["host"])
    guest, welcome = await connect(b, room, world["guest"])
    last = welcome["seq"]
    await guest.close()
    for i in range(3):
        await host.send(json.dumps({"type": "chat", "content": f"missed {i}"}))
        await next_of(host, "chat")
    guest, first = await connect(b, room, world["guest"], lastSeq=last, epoch=welcome["epoch"])
    try:
        assert first["type"] != "welcome", "the missed events are replayed, not replaced by a snapshot"
        got = [first]
        async with asyncio.timeout(10):
            while sum(m["type"] == "chat" for m in got) < 3:
                got.append(await recv(guest))
        await asyncio.sleep(0.5)  # nothing more arrives twice
        with contextlib.suppress(TimeoutError):
            while True:
                got.append(await asyncio.wait_for(recv(guest), 0.3))
        chats = [m["message"]["content"] for m in got if m["type"] == "chat"]
        assert chats == ["missed 0", "missed 1", "missed 2"]
        seqs = [m["seq"] for m in got if "seq" in m]  # numbered events (not pongs or the pushed sync status)
        assert seqs == sorted(set(seqs)) and seqs[0] == last + 1, "in order, none twice, none skipped at the start"
    finally:
        await host.close()
        await guest.close()


async def test_leaving_the_room_closes_the_socket(two: tuple[LiveServer, LiveServer], world: dict[str, Any]) -> None:
    a, b = two
    room = world["room"]
    guest, _ = await connect(b, room, world["guest"])
    async with httpx.AsyncClient(base_url=a.url) as http:
        assert (await http.post(f"/api/rooms/{room}/leave", headers=world["guest"])).status_code == 200
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await read_until_closed(guest)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    async with httpx.AsyncClient(base_url=a.url) as http:
        assert (await http.post(f"/api/rooms/{room}/join", headers=world["guest"])).status_code == 200


async def test_a_buffering_viewer_holds_the_room_for_at_most_the_timeout(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    a, b = two
    room = world["room"]
    host, welcome = await connect(a, room, world["host"])
    guest, guest_welcome = await connect(b, room, world["guest"])
    try:
        version = welcome["state"]["version"]
        if welcome["state"]["paused"]:
            await host.send(json.dumps({"type": "command", "action": "play", "baseVersion": version}))
            await next_of(guest, "state")
        await guest.send(json.dumps({"type": "buffering"}))
        waiting = await next_of(host, "waiting")
        held = await next_of(host, "state")
        assert held["state"]["paused"] and held["cause"] == "waiting"
        assert waiting["deadline"] - held["executeAt"] <= 1500
        ended = await next_of(host, "waitingEnded", timeout=5)
        resumed = await next_of(host, "state")
        assert ended["reason"] == "timeout" and ended["laggards"] == [guest_welcome["you"]["userId"]]
        assert resumed["cause"] == "timeout" and not resumed["state"]["paused"]
        assert resumed["executeAt"] - waiting["deadline"] < 1000, "the room moved on at the deadline"
    finally:
        await host.close()
        await guest.close()


async def test_a_ping_flood_is_limited_then_closed_and_the_room_stays_healthy(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    a, b = two
    room = world["room"]
    flooder, _ = await connect(a, room, await member(a, room, "rtflooder"))
    other, _ = await connect(b, room, world["host"])
    try:
        for i in range(95):  # pings are cheap, but not free: 20/s with a burst of 40; 50 over it closes
            await flooder.send(json.dumps({"type": "ping", "id": i, "t0": 1.0}))
        assert (await next_of(flooder, "error"))["code"] == "rate_limited"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await read_until_closed(flooder)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        # everyone else is served as before
        await other.send(json.dumps({"type": "ping", "id": 1, "t0": 5.0}))
        assert (await next_of(other, "pong"))["t0"] == 5.0
    finally:
        await other.close()


async def test_a_client_that_stops_reading_is_dropped_and_server_memory_stays_flat(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    """A member connects with a tiny receive buffer and never reads. The room gets ~4 MB of chat; the server
    must not hold it for that client: its bounded send queue overflows, it is closed with 4010, and memory
    stays flat, while a reading viewer on the other process gets every message."""
    a, b = two
    room = world["room"]
    headers = await member(a, room, "rtnonreader")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(a.url.rsplit(":", 1)[1])))
    stuck = await websockets.connect(ws_url(a, room, await ticket(a, room, headers)), sock=sock, max_queue=1)
    await stuck.send(json.dumps({"type": "hello", "v": 1}))
    reader, _ = await connect(b, room, world["host"])
    received: list[int] = []
    all_in = asyncio.Event()

    async def read_all() -> None:
        async def keep_alive() -> None:  # a reading client also pings, or it is idle after 40 s
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                for i in range(1000):
                    await reader.send(json.dumps({"type": "ping", "id": i, "t0": 1.0}))
                    await asyncio.sleep(5)

        pinging = asyncio.get_running_loop().create_task(keep_alive())
        try:
            async for raw in reader:
                msg = json.loads(raw)
                if msg["type"] == "chat":
                    received.append(msg["message"]["id"])
                    if len(received) == 2100:
                        all_in.set()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            pinging.cancel()

    reading = asyncio.get_running_loop().create_task(read_all())
    body = "m" * 2000
    posted: list[int] = []

    async def post(http: httpx.AsyncClient, n: int) -> None:
        for _ in range(n):
            r = await http.post(f"/api/chat/{room}/messages", json={"content": body}, headers=world["host"])
            assert r.status_code == 201, r.text
            posted.append(r.json()["data"]["id"])

    try:
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
            await asyncio.gather(*(post(http, 20) for _ in range(5)))  # warm up the server's allocator
            rss_before = a.rss_bytes()
            await asyncio.gather(*(post(http, 250) for _ in range(8)))
            rss_after = a.rss_bytes()
        await asyncio.wait_for(all_in.wait(), 30)
        assert sorted(received) == sorted(posted)  # the reader got each message once
        # the server dropped the stuck client (it cannot read a close code it does not read: it finds it closed);
        # the drop comes when the stuck client's queue overflows, which may be after the reader has everything
        async with asyncio.timeout(20):
            while "stopped reading; dropped (4010)" not in a.log.read_text():  # noqa: ASYNC110 - a file
                await asyncio.sleep(0.1)
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await read_until_closed(stuck)
        # 2,000 messages × 2 KB went by; a server that queued them for the stuck client would have grown by 4+ MB
        assert rss_after - rss_before < 2 * 1024 * 1024, (rss_before, rss_after)
    finally:
        reading.cancel()
        await reader.close()
        await stuck.close()


async def test_oversized_frames_floods_and_logout_everywhere(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    a, _ = two
    room = world["room"]
    guest, _ = await connect(a, room, world["guest"])
    for _ in range(40):  # far more control messages than the bucket allows
        await guest.send(json.dumps({"type": "ready"}))
    assert (await next_of(guest, "error"))["code"] == "rate_limited"
    await guest.send("x" * (17 * 1024))
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await read_until_closed(guest)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    # 16 MiB and more: granian ends the connection itself, with 1000, before the app sees the frame (protocol.md)
    guest, _ = await connect(a, room, world["guest"])

    async def send_then_read() -> None:
        await guest.send("x" * (16 * 1024 * 1024 + 1))  # the close may come while it is still being sent
        await read_until_closed(guest)

    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await send_then_read()
    # 1000, or no close frame at all (1006) when the reset of the unread rest of the frame overtakes it
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1000

    guest, _ = await connect(a, room, world["guest"])
    async with httpx.AsyncClient(base_url=a.url) as http:
        assert (await http.post("/api/auth/logout-all", headers=world["guest"])).status_code == 200
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await read_until_closed(guest)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_the_rooms_sync_status_is_pushed_not_polled(
    two: tuple[LiveServer, LiveServer], world: dict[str, Any]
) -> None:
    """Issue 16 (item 5): each room's skew summary reaches its sockets on both processes as `sync`, at most once a
    second and only when a figure changed; pages no longer poll GET /sync-stats."""
    a, b = two
    room = world["room"]
    host, welcome = await connect(a, room, world["host"])
    guest, guest_welcome = await connect(b, room, await member(b, room, "rtsyncstatus"))  # world's guest logged out
    ids = {welcome["you"]["userId"], guest_welcome["you"]["userId"]}
    try:
        for conn, position in ((host, 1.0), (guest, 1.02)):
            report = {"type": "report", "position": position, "serverTime": 0.0, "rtt": 5.0, "offset": 0.0}
            await conn.send(json.dumps({**report, "paused": True}))
        for conn in (host, guest):
            async with asyncio.timeout(10):
                while True:
                    status = await next_of(conn, "sync")
                    if {v["userId"] for v in status["perViewer"]} >= ids:
                        break
            assert status["viewers"] >= 2 and status["maxMs"] is not None
        # nothing changes now: no more than the one summary a second, and in fact none
        pushed = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.5):
                while True:
                    pushed += (await recv(guest))["type"] == "sync"
        assert pushed == 0, "an unchanged summary is not sent again"
    finally:
        await host.close()
        await guest.close()
