"""Schemathesis over /openapi.json against a real server: no input a client can send gives a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25  # per operation; keeps CI fast while still covering every operation


def test_fuzz_finds_no_server_errors(live_server: LiveServer, tmp_path: Path) -> None:
    api = httpx.Client(base_url=live_server.url)
    r = api.post(
        "/api/auth/register",
        json={"email": "fuzz@example.com", "username": "fuzzer", "password": "schemathesis all day"},
    )
    token = r.json()["data"]["token"]
    api.post("/api/rooms", json={"name": "fuzz room"}, headers={"Authorization": f"Bearer {token}"})
    api.post("/api/movies", json={"title": "fuzz", "videoUrl": "/x.mp4"}, headers={"Authorization": f"Bearer {token}"})
    output, code = _schemathesis(live_server.url, token, tmp_path)
    if code != 0 and "Runtime Error" in output and "Server error" not in output:
        # schemathesis 4.x sometimes fails inside its own coverage generator (an internal error, not a finding);
        # run the other phases again rather than lose the whole fuzz run to it
        output, code = _schemathesis(live_server.url, token, tmp_path, phases="examples,fuzzing,stateful")
    assert "Server error" not in output, output[-8000:]
    assert code == 0, output[-8000:]


def _schemathesis(url: str, token: str, cwd: Path, phases: str | None = None) -> tuple[str, int]:
    args = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-path",
        "/api/auth/logout-all",  # would end the fuzzer's own session
        "--exclude-path",
        "/api/auth/change-password",
        "--seed",
        "20261126",
        "--request-timeout",
        "10",
        "--workers",
        "2",
    ]
    if phases:
        args += ["--phases", phases]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=cwd)
    return done.stdout + done.stderr, done.returncode
