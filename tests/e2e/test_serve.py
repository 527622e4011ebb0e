"""`watchparty serve` with no configuration at all: SQLite under ./var, migrated on start, usable over HTTP."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

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
