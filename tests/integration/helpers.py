"""Small HTTP helpers for integration tests."""

from __future__ import annotations

import asyncio
import email
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.media import local_clip_url

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: int
    email: str
    username: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> Account:
    r = await client.post(
        "/api/auth/register", json={"email": f"{name}@example.com", "username": name, "password": password}
    )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    return Account(data["user"]["id"], data["user"]["email"], name, data["token"], data["refreshToken"])


async def create_room(client: httpx.AsyncClient, host: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "Movie night", **fields}
    r = await client.post("/api/rooms", json=body, headers=host.headers)
    assert r.status_code == 201, r.text
    room: dict[str, Any] = r.json()["data"]
    return room


async def create_movie(
    client: httpx.AsyncClient, owner: Account, *, checked: bool = True, **fields: Any
) -> dict[str, Any]:
    """A movie by the API: a real clip on the tests' media server unless `videoUrl` says otherwise; returned once
    the media check has given its verdict (`checked`), so that no verdict lands in the middle of a test."""
    body = {"title": "Big Buck Bunny", "videoUrl": local_clip_url(), **fields}
    r = await client.post("/api/movies", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    movie: dict[str, Any] = r.json()["data"]
    return await checked_movie(client, movie["id"]) if checked else movie


async def checked_movie(client: httpx.AsyncClient, movie_id: int, timeout_s: float = 15) -> dict[str, Any]:
    """The movie once its media check has a verdict (waited for, up to a deadline)."""
    async with asyncio.timeout(timeout_s):
        while True:
            r = await client.get(f"/api/movies/{movie_id}")
            movie: dict[str, Any] = r.json()["data"]
            if movie["check"]["status"] != "checking":
                return movie
            await asyncio.sleep(0.02)


async def join(client: httpx.AsyncClient, who: Account, room_id: int, **body: Any) -> httpx.Response:
    return await client.post(f"/api/rooms/{room_id}/join", json=body or None, headers=who.headers)


def read_mail(outbox: Path) -> list[email.message.EmailMessage]:
    messages = []
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        messages.append(msg)
    return messages


def link_token(message: email.message.EmailMessage, pattern: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(pattern, body.get_content())
    assert match, body.get_content()
    return match.group(1)


async def wait_job(client: httpx.AsyncClient, who: Account, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll GET /api/queues/jobs/{id} until the job has completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"/api/queues/jobs/{job_id}", headers=who.headers)
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()["data"]
        if job["state"] in ("completed", "failed"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)
