"""Helpers of the realtime tests: accounts, tickets, sockets, and every received frame checked against its
definition in watchparty.sync.protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.e2e.conftest import LiveServer
from tests.integration.helpers import PASSWORD
from watchparty.sync import protocol


async def user(server: LiveServer, name: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/auth/register", json={"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['data']['token']}"}


async def ticket(server: LiveServer, room_id: int, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(f"/api/rooms/{room_id}/ws-ticket", headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["data"]["ticket"])


def ws_url(server: LiveServer, room_id: int, t: str) -> str:
    return f"{server.url.replace('http', 'ws')}/api/rooms/{room_id}/ws?ticket={t}"


async def connect(
    server: LiveServer, room_id: int, headers: dict[str, str], **hello: Any
) -> tuple[ClientConnection, dict[str, Any]]:
    conn = await websockets.connect(ws_url(server, room_id, await ticket(server, room_id, headers)))
    await conn.send(json.dumps({"type": "hello", "v": 1, **hello}))
    first = await asyncio.wait_for(recv(conn), 10)
    return conn, first


async def recv(conn: ClientConnection) -> dict[str, Any]:
    """The next frame, checked against its definition in watchparty.sync.protocol (every frame the tests see)."""
    raw = await conn.recv()
    protocol.validate_server(raw)
    msg: dict[str, Any] = json.loads(raw)
    return msg


async def next_of(conn: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = await recv(conn)
            if msg["type"] == kind:
                return msg


async def read_until_closed(conn: ClientConnection) -> None:
    async with asyncio.timeout(10):
        while True:
            await recv(conn)


async def member(server: LiveServer, room_id: int, name: str) -> dict[str, str]:
    headers = await user(server, name)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post(f"/api/rooms/{room_id}/join", headers=headers)).status_code == 200
    return headers
