"""`watchparty create-admin`: creates or promotes, twice is safe, and the role is read on every request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.helpers import create_movie, register
from watchparty.config import Settings


def _create_admin(settings: Settings, tmp_path: Path, *args: str, password: str | None = None, code: int = 0) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
    }
    env.pop("WATCHPARTY_ADMIN_PASSWORD", None)
    if password is not None:
        env["WATCHPARTY_ADMIN_PASSWORD"] = password
    done = subprocess.run(
        [sys.executable, "-m", "watchparty", "create-admin", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == code, done.stderr
    return done.stdout


async def test_promote_existing_user_takes_effect_on_the_same_token(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    owner = await register(client, "owner")
    other = await register(client, "other")
    movie = await create_movie(client, owner)
    url = f"/api/movies/{movie['id']}"
    assert (await client.put(url, json={"title": "x"}, headers=other.headers)).status_code == 403
    out = _create_admin(settings, tmp_path, "--email", other.email)
    assert "now an administrator" in out
    # same access token: the role comes from the database, not the token
    assert (await client.put(url, json={"title": "x"}, headers=other.headers)).status_code == 200
    assert "now an administrator" in _create_admin(settings, tmp_path, "--email", other.email)


async def test_create_new_admin_with_password_from_environment(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    out = _create_admin(settings, tmp_path, "--email", "root@example.com", password="admin password 1")
    assert "created administrator root@example.com" in out
    assert "admin password 1" not in out
    r = await client.post("/api/auth/login", json={"email": "root@example.com", "password": "admin password 1"})
    assert r.status_code == 200
    assert r.json()["data"]["user"]["role"] == "admin"


async def test_create_admin_holds_the_password_policy(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    out = _create_admin(settings, tmp_path, "--email", "ops@example.com", password="password1", code=2)
    assert "refused: This is one of the most common passwords" in out
    out = _create_admin(settings, tmp_path, "--email", "ops@example.com", password="ops@example.com rules", code=2)
    assert "refused: A password cannot contain your" in out  # the username made of the email, or the email
    r = await client.post("/api/auth/login", json={"email": "ops@example.com", "password": "password1"})
    assert r.status_code == 401
