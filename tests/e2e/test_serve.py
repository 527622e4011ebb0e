"""`watchparty serve` with no configuration at all: SQLite under ./var, migrated on start, usable over HTTP."""

from __future__ import annotations

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
        assert api.get("/docs").status_code == 200
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
