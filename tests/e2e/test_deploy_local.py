"""The reference deployment (deploy/local.py) for real: nginx from Debian's packages in front of 3 API processes and 2
job workers on PostgreSQL and Redis, started and stopped by one command (issue 16, item 1).

Through nginx: two browsers in one room; requests spread over every API process; sockets are upgraded, and a chat
message reaches sockets held by different processes; the workers send the mail; nginx serves the static files and
/media/ with the headers the app gives the same files; a body over a limit gets the app's 413; a spoofed
X-Forwarded-For gets the client nothing (per-address limits hold per client); an API process killed with SIGKILL
mid-traffic costs no request and comes back; SIGTERM stops everything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import chromium
from tests.e2e.conftest import PROJECT, LiveServer, free_port, spawn
from tests.e2e.live import connect, next_of
from tests.e2e.test_web_client import sign_up
from tests.smtp import Mailbox
from watchparty.app import body_limits
from watchparty.config import Settings
from watchparty.core.middleware import too_large_body

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]
PASSWORD = "correct horse battery"
# the headers that say how a file is to be taken; Date, ETag and Last-Modified are each server's own
COMPARED = ("content-type", "cache-control", "content-security-policy", "x-frame-options", "referrer-policy",
            "x-content-type-options")  # fmt: skip


@dataclass
class Deployed:
    url: str
    run: Path
    proc: Any
    api_urls: list[str]

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run / "state.json").read_text())
        return data

    def access_log(self) -> list[str]:
        return (self.run / "logs" / "access.log").read_text().splitlines()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.fixture(scope="module")
def deployed(
    e2e_database_url: str, settings: Settings, smtp_server: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed (.ci/run installs it from Debian's packages)")
    run = tmp_path_factory.mktemp("deploy")
    port = free_port()
    while any(_port_taken(port + i) for i in range(4)):
        port = free_port()
    env = {
        "DATABASE_URL": e2e_database_url,
        "REDIS_URL": settings.effective_redis_url or "",
        "KEY_PREFIX": f"deploy{os.getpid()}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "deploy.local", "--dir", str(run), "--port", str(port)]
    proc = spawn(PROJECT, cmd, env, run / "supervisor.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while "WatchParty (reference deployment) at" not in _read(run / "supervisor.log"):
        assert proc.poll() is None, _read(run / "supervisor.log")
        assert time.monotonic() < deadline, _read(run / "supervisor.log")
        time.sleep(0.2)
    try:
        yield Deployed(url, run, proc, [f"http://127.0.0.1:{port + i}" for i in (1, 2, 3)])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in json.loads(_read(run / "state.json") or "{}").get("processes", {}).values():
                with_suppressed_kill(pid)


def with_suppressed_kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _upstreams(lines: list[str], path_pattern: str) -> list[str]:
    found = []
    for line in lines:
        m = re.search(r'"\w+ (\S+) HTTP/[\d.]+" \d+ \d+ upstream=(\S+)', line)
        if m and re.fullmatch(path_pattern, m.group(1)):
            found.append(m.group(2))
    return found


async def _sign_up(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    r = await http.post("/api/auth/register", json=body)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['data']['token']}"}


def _client(url: str, source: str) -> httpx.AsyncClient:
    """A client from its own loopback address: nginx sees each as a different person."""
    return httpx.AsyncClient(base_url=url, transport=httpx.AsyncHTTPTransport(local_address=source), timeout=30)


async def test_requests_spread_over_every_api_process_and_sockets_and_jobs_work_across_them(
    deployed: Deployed, smtp_server: Mailbox
) -> None:
    async with _client(deployed.url, "127.0.0.2") as http:
        for _ in range(30):
            assert (await http.get("/api/rooms")).status_code == 200
        assert len(set(_upstreams(deployed.access_log(), r"/api/rooms"))) == 3
        host = await _sign_up(http, "deployhost")
        guest = await _sign_up(http, "deployguest")
        # the welcome mails: sent by the workers (the API processes run no jobs here)
        await smtp_server.one_to("deployhost@example.com")
        await smtp_server.one_to("deployguest@example.com")
        room = (await http.post("/api/rooms", json={"name": "Through nginx"}, headers=host)).json()["data"]
        assert (await http.post(f"/api/rooms/{room['id']}/join", headers=guest)).status_code == 200
        server = LiveServer(deployed.url, deployed.run, deployed.run / "supervisor.log")
        sockets = [(await connect(server, room["id"], who))[0] for who in (host, guest, guest)]
        # a message posted on each API process reaches every socket, whichever process nginx gave it to
        for i, api in enumerate(deployed.api_urls, 1):
            async with httpx.AsyncClient(base_url=api) as direct:
                body = {"content": f"posted on api-{i}"}
                r = await direct.post(f"/api/chat/{room['id']}/messages", json=body, headers=host)
                assert r.status_code == 201, r.text
        for conn in sockets:
            seen: set[str] = set()
            while len(seen) < 3:
                seen.add((await next_of(conn, "chat", timeout=15))["message"]["content"])
            assert seen == {f"posted on api-{i}" for i in (1, 2, 3)}
        for conn in sockets:
            await conn.close()
    # nginx upgraded each socket (it logs a socket when it ends, with its 101)
    deadline = time.monotonic() + 10
    while len(_upstreams(deployed.access_log(), r"/api/rooms/\d+/ws\?ticket=.*")) < 3:
        assert time.monotonic() < deadline, deployed.access_log()[-10:]
        await asyncio.sleep(0.1)
    assert sum(" 101 " in line for line in deployed.access_log() if "/ws?ticket=" in line) == 3


async def test_nginx_serves_the_files_with_the_apps_headers_and_the_app_answers_what_nginx_has_not(
    deployed: Deployed,
) -> None:
    media = deployed.run / "media"
    (media / "avatars").mkdir(parents=True, exist_ok=True)
    (media / "avatars" / "deploy-test.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    (media / "hls" / "deploytest").mkdir(parents=True, exist_ok=True)
    (media / "hls" / "deploytest" / "index.m3u8").write_text("#EXTM3U\n")
    (media / "hls" / "deploytest" / "seg0.ts").write_bytes(b"\x47" * 188)
    sample = next((PROJECT / "watchparty" / "web" / "static" / "sample").iterdir()).name
    hls = "/media/hls/deploytest"
    files = ["/app/js/main.js", "/app/theme.css", "/app/locales/en.json", "/app/index.html", f"/sample/{sample}",
             "/media/avatars/deploy-test.webp", f"{hls}/index.m3u8", f"{hls}/seg0.ts"]  # fmt: skip
    async with _client(deployed.url, "127.0.0.2") as http, httpx.AsyncClient(base_url=deployed.api_urls[0]) as api:
        for path in files:
            via_nginx, direct = await http.get(path), await api.get(path)
            assert (via_nginx.status_code, direct.status_code) == (200, 200), path
            assert via_nginx.content == direct.content, path
            ours = {h: via_nginx.headers.get(h) for h in COMPARED}
            theirs = {h: direct.headers.get(h) for h in COMPARED}
            assert ours == theirs, path
            ranged = await http.get(path, headers={"Range": "bytes=0-3"})
            assert (ranged.status_code, ranged.content) == (206, direct.content[:4]), path
        for path in files:  # nginx itself served them, no API process
            assert set(_upstreams(deployed.access_log(), re.escape(path))) == {"-"}, path
        # a file nginx does not have, and a page: the app's answers, as without nginx
        for path in ("/app/js/no-such.js", "/media/avatars/none.webp", "/rooms/1", "/no/such/page"):
            via_nginx, direct = await http.get(path), await api.get(path)
            assert (via_nginx.status_code, via_nginx.content) == (direct.status_code, direct.content), path
        # a body over the app's limits, route by route: refused by nginx with the app's own 413
        defaults = Settings()
        over = {"/api/auth/login": (defaults.max_body_bytes, defaults.max_body_bytes),
                **{p.replace(r"\d+", "7"): limits for p, limits in body_limits(defaults).items()}}  # fmt: skip
        for path, (accepted, stated) in over.items():
            r = await http.post(path, content=b"x" * (accepted + 1), headers={"Content-Type": "application/json"})
            assert (r.status_code, r.content) == (413, too_large_body(stated)), (path, r.text)
            assert r.headers["content-type"] == "application/json"
        assert set(_upstreams(deployed.access_log(), "|".join(map(re.escape, over)))) == {"-"}


async def test_a_spoofed_forwarded_for_gets_nothing_and_limits_count_each_client(deployed: Deployed) -> None:
    """Behind nginx each client has its own address: 10 sign-ups an hour per address (RATE_LIMIT_REGISTER_IP)
    hold for one client whatever X-Forwarded-For it sends, and another client is not locked out by it."""
    async with _client(deployed.url, "127.0.0.3") as spoofer, _client(deployed.url, "127.0.0.4") as other:
        statuses = []
        for i in range(11):
            body = {"email": f"spoof{i}@example.com", "username": f"spoof{i}", "password": PASSWORD}
            r = await spoofer.post("/api/auth/register", json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            statuses.append(r.status_code)
        assert statuses == [201] * 10 + [429], statuses
        body = {"email": "elsewhere@example.com", "username": "elsewhere", "password": PASSWORD}
        assert (await other.post("/api/auth/register", json=body)).status_code == 201


async def test_two_browsers_watch_and_chat_through_nginx(deployed: Deployed) -> None:
    """The web client as people meet it behind nginx: its files from nginx (with the app's CSP), its socket through
    nginx's upgrade, two people in one room, a chat line from one on the other's page, and no console errors."""
    async with chromium() as browser:
        pages, errors = [], []
        for _ in range(2):
            ctx = await browser.new_context(base_url=deployed.url, locale="en-US")
            page = await ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pages.append(page)
        host, guest = pages
        await host.goto("/signup")
        await sign_up(host, "nginxhost")
        await host.goto("/rooms/new")
        await host.get_by_label("Name").fill("Behind nginx")
        await host.get_by_role("button", name="Create the room").click()
        await expect(host.locator("#connection")).to_have_text("live")
        room = host.url.removeprefix(deployed.url)
        await guest.goto("/signup")
        await sign_up(guest, "nginxguest")
        await guest.goto(room)
        await guest.get_by_role("button", name="Join the room").click()
        await expect(guest.locator("#connection")).to_have_text("live")
        await host.get_by_label("Write a message").fill("hello from behind nginx")
        await host.get_by_label("Write a message").press("Enter")
        await expect(guest.locator("#messages li", has_text="hello from behind nginx")).to_be_visible()
        await expect(host.locator("#people li[data-user]")).to_have_count(2)
        assert errors == []


async def test_an_api_process_killed_mid_traffic_costs_no_request_and_comes_back_and_sigterm_stops_it_all(
    deployed: Deployed,
) -> None:
    before = deployed.state()
    victim = before["processes"]["api-2"]
    results: list[int] = []
    stop = asyncio.Event()

    async def traffic() -> None:
        async with _client(deployed.url, "127.0.0.5") as http:
            while not stop.is_set():
                results.append((await http.get("/api/rooms")).status_code)

    runner = asyncio.create_task(traffic())
    await asyncio.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while deployed.state()["starts"]["api-2"] < 2:
        assert time.monotonic() < deadline, _read(deployed.run / "supervisor.log")
        await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=deployed.api_urls[1]) as api:  # the new api-2 answers on its port
        while True:
            try:
                if (await api.get("/api/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    stop.set()
    await runner
    assert len(results) > 20 and set(results) == {200}, sorted(set(results))

    processes = deployed.state()["processes"]
    os.kill(deployed.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 40
    while deployed.proc.poll() is None:
        assert time.monotonic() < deadline, _read(deployed.run / "supervisor.log")
        await asyncio.sleep(0.2)
    assert deployed.proc.returncode == 0
    assert [name for name, pid in processes.items() if _alive(pid)] == []
    assert not (deployed.run / "state.json").exists()
