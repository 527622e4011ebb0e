"""`watchparty serve` with no configuration at all: SQLite under ./var, migrated on start, usable over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e import live
from tests.e2e.conftest import start_server, stop_server

pytestmark = pytest.mark.slow


def test_serve_on_embedded_defaults(tmp_path: Path) -> None:
    proc, server = start_server(tmp_path, {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"})
    try:
        api = httpx.Client(base_url=server.url, timeout=10)
        r = api.post(
            "/api/auth/register", json={"email": "new@example.com", "username": "newbie", "password": "long enough"}
        )
        assert r.status_code == 201, r.text
        auth = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        room = api.post("/api/rooms", json={"name": "First room"}, headers=auth).json()["data"]
        assert api.get("/api/rooms").json()["data"][0]["id"] == room["id"]
        assert api.get("/api/rooms").headers["x-cache"] == "HIT"  # the embedded Valkey is up
        assert api.get("/api/health").json()["redis"] == "connected"
        assert api.get("/docs").status_code == 200
        # the web client, and a demo movie that plays the shipped sample clip
        assert 'src="/app/js/main.js"' in api.get("/").text
        demo = [m for m in api.get("/api/movies").json()["data"] if m["videoUrl"] == "/sample/countdown.webm"]
        assert len(demo) == 1, "the demo movie is in the catalogue"
        clip = api.get(demo[0]["videoUrl"], headers={"Range": "bytes=0-3"})
        assert clip.status_code == 206 and clip.content == b"\x1a\x45\xdf\xa3"  # WebM's magic number
    finally:
        stop_server(proc)
    log = server.log.read_text()
    assert f"serving at {server.url}/" in log
    assert (tmp_path / "var" / "watchparty.db").exists()
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o077 == 0
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "var" / "watchparty.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"user", "room", "alembic_version"} <= tables
    assert list((tmp_path / "var" / "outbox").glob("*.eml")), "the welcome email is written to the outbox"


def test_an_orphaned_embedded_server_is_cleaned_up(tmp_path: Path) -> None:
    env = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
    proc, _ = start_server(tmp_path, env)
    pidfile = tmp_path / "var" / "redis" / "server.pid"
    orphan = int(pidfile.read_text())
    os.killpg(proc.pid, signal.SIGKILL)  # the API dies hard; its Valkey daemon lives on
    proc.wait()
    assert _alive(orphan)
    proc2, server2 = start_server(tmp_path, env)
    try:
        assert not _alive(orphan)
        assert int(pidfile.read_text()) != orphan
        assert httpx.get(f"{server2.url}/api/health").json()["redis"] == "connected"
    finally:
        stop_server(proc2)
    assert not pidfile.exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


async def test_a_restart_in_embedded_mode_rebuilds_open_rooms_where_they_were(tmp_path: Path) -> None:
    """Issue 13, why 1: the embedded Valkey keeps nothing, so a restart loses every live room. The open pages
    reconnect with their old lastSeq and epoch; within 3 s of the server being back both viewers have a fresh
    welcome at the same position (the room rebuilt from the database, paused where it had got to), and the
    host's next command is accepted."""
    env = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
    proc, server = start_server(tmp_path, env)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        host, guest = await live.user(server, "restart-host"), await live.user(server, "restart-guest")
        async with httpx.AsyncClient(base_url=server.url) as http:
            demo = (await http.get("/api/movies")).json()["data"][0]
            r = await http.post("/api/rooms", json={"name": "Restart", "movieId": demo["id"]}, headers=host)
            room = r.json()["data"]["id"]
            assert (await http.post(f"/api/rooms/{room}/join", headers=guest)).status_code == 200
        host_ws, welcome = await live.connect(server, room, host)
        guest_ws, _ = await live.connect(server, room, guest)
        await host_ws.send(
            json.dumps({"type": "command", "action": "play", "baseVersion": welcome["state"]["version"]})
        )
        started = await live.next_of(host_ws, "state")
        await asyncio.sleep(2.0)
        stop_server(proc)
        for ws in (host_ws, guest_ws):
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                await live.read_until_closed(ws)
        proc, server = start_server(tmp_path, env, port=port)
        back = time.monotonic()
        resume = {"lastSeq": started["seq"], "epoch": welcome["epoch"]}
        (host_ws, host_again), (guest_ws, guest_again) = await asyncio.gather(
            live.connect(server, room, host, **resume), live.connect(server, room, guest, **resume)
        )
        assert time.monotonic() - back < 3.0
        assert host_again["type"] == guest_again["type"] == "welcome"
        assert host_again["epoch"] == guest_again["epoch"] != welcome["epoch"]
        assert host_again["state"] == guest_again["state"], "both at the same position"
        state = host_again["state"]
        assert state["paused"] and state["mediaId"] == demo["id"] and 2.0 <= state["position"] <= 30.0
        await host_ws.send(json.dumps({"type": "command", "action": "play", "baseVersion": state["version"]}))
        accepted = await live.next_of(guest_ws, "state")
        assert not accepted["state"]["paused"] and accepted["state"]["position"] == pytest.approx(state["position"])
        await host_ws.close()
        await guest_ws.close()
    finally:
        stop_server(proc)
