"""The few REST calls a viewer needs before it connects: sign up or in, make or join a room, chat."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: making one per httpx client costs milliseconds of CPU each."""
    return ssl.create_default_context()


def http_client(base_url: str, timeout: float = 30) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=tls_context())


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    async def _call(self, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with http_client(self.base_url) as http:
            r = await http.request(method, path, json=json, headers=headers)
        if r.status_code != expect:
            raise ApiError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()["data"]

    async def register(self, username: str, password: str, email: str | None = None) -> str:
        body = {"email": email or f"{username}@example.com", "username": username, "password": password}
        self.token = str((await self._call("POST", "/api/auth/register", body, 201))["token"])
        return self.token

    async def login(self, email: str, password: str) -> str:
        self.token = str((await self._call("POST", "/api/auth/login", {"email": email, "password": password}))["token"])
        return self.token

    async def create_room(self, name: str, **fields: Any) -> int:
        return int((await self._call("POST", "/api/rooms", {"name": name, **fields}, 201))["id"])

    async def join_room(self, room_id: int) -> None:
        await self._call("POST", f"/api/rooms/{room_id}/join")

    async def ws_ticket(self, room_id: int) -> str:
        """A single-use ticket (30 s) for WS /api/rooms/{id}/ws."""
        return str((await self._call("POST", f"/api/rooms/{room_id}/ws-ticket", expect=201))["ticket"])

    async def playlist(self, room_id: int) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", f"/api/rooms/{room_id}/playlist")
        return data

    async def add_item(self, room_id: int, base_version: int, **fields: Any) -> dict[str, Any]:
        """Add a playlist item (`movieId=` or `url=`); the list as it now is."""
        body = {"baseVersion": base_version, **fields}
        data: dict[str, Any] = await self._call("POST", f"/api/rooms/{room_id}/playlist/items", body, 201)
        return data

    async def create_movie(self, title: str, video_url: str, **fields: Any) -> int:
        body = {"title": title, "videoUrl": video_url, **fields}
        return int((await self._call("POST", "/api/movies", body, 201))["id"])

    async def post_chat(self, room_id: int, content: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("POST", f"/api/chat/{room_id}/messages", {"content": content}, 201)
        return data
