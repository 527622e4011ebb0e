"""The fault test (issue 16, item 2): the reference deployment (deploy/local.py: nginx, 3 API processes, 2 workers)
under steady mixed traffic, with faults in the middle of it, and what each cost.

Traffic, all through nginx:
- REST users (50; 10 in the short run), each a member of a room: room list pages, room details, chat history,
  movies, their profile, and chat posts (the acknowledged writes: each 201's message id is kept);
- viewers (300 in 10 rooms; 60 in 4), guests over WebSockets, as the web client behaves: a ping every 10 s,
  reconnects (at once after 1001/1012, else with a doubling, jittered wait up to 5 s) that resume from their last
  seq, and the chat history read again after a `welcome` on a reconnect (no replay could be made);
- a stream of jobs: a sign-up (a welcome mail), an invite (an invite mail) and an avatar (an image job), in turn.

Faults, one after another: kill -9 of an API process (the supervisor starts it again a second later); kill -9 of a
worker; Redis restarted (killed, then started empty on its port); new PostgreSQL connections refused for 10 s
(`ALLOW_CONNECTIONS false`); nginx reloaded.

Figures: 5xx other than 503 as clients saw them; acknowledged writes missing from the database; jobs lost (an
acknowledged sign-up or invite without its mail, an avatar never processed) and run twice (a second mail); how long
each viewer whose socket a fault closed took to be back (from the fault to the first answer on its new socket:
its `welcome`, or the `pong` after a resumed `hello`); chat messages a viewer's page lacks at the end, or was sent
twice. `python -m bench faults` runs the full test and writes docs/operations.md's section;
tests/e2e/test_faults.py runs the short one in CI and holds it to the targets.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from PIL import Image

from bench.common import ROOT, free_port, psql, say
from tests.own_redis import OwnRedis

PASSWORD = "correct horse battery"  # noqa: S105 - the simulated people's password
OPERATIONS = ROOT / "docs" / "operations.md"


@dataclass(frozen=True)
class Plan:
    seconds: float
    users: int
    viewers: int
    rooms: int
    # (seconds into the traffic, fault)
    faults: tuple[tuple[float, str], ...]


FULL = Plan(120, 50, 300, 10, ((15, "kill-api"), (35, "kill-worker"), (55, "restart-redis"), (75, "block-pg"),
                               (100, "reload-nginx")))  # fmt: skip
SHORT = Plan(55, 10, 60, 4, ((6, "kill-api"), (14, "kill-worker"), (22, "restart-redis"), (32, "block-pg"),
                             (47, "reload-nginx")))  # fmt: skip


@dataclass
class Figures:
    requests: Counter[int] = field(default_factory=Counter)  # status -> count, as REST clients saw them
    bad_5xx: list[str] = field(default_factory=list)  # 5xx other than 503, with the request
    transport_errors: int = 0  # no HTTP answer at all (nginx is the edge: there should be none)
    transport_kinds: list[str] = field(default_factory=list)
    resent: int = 0  # requests sent again because nginx closed their kept-alive connection unread
    acknowledged: dict[int, set[int]] = field(default_factory=dict)  # room -> chat message ids acknowledged (201)
    signups: list[str] = field(default_factory=list)  # emails whose sign-up was acknowledged
    invites: list[str] = field(default_factory=list)  # emails an acknowledged invite went to
    avatars: list[tuple[str, int]] = field(default_factory=list)  # (token, user id) of acknowledged uploads
    fault_at: dict[str, float] = field(default_factory=dict)  # fault -> monotonic time it happened
    back_after: dict[str, list[float]] = field(default_factory=dict)  # fault -> each closed viewer's seconds
    chat_frames_twice: int = 0
    lost_on_pages: int = 0
    writes_missing: int = 0
    jobs_lost: list[str] = field(default_factory=list)
    jobs_twice: list[str] = field(default_factory=list)
    reconnects: int = 0
    cpu_generator: float = 0.0  # cores this traffic generator kept busy, on average, during the traffic
    cpu_machine: float = 0.0  # cores the whole machine kept busy
    loop_lag: list[tuple[float, float]] = field(default_factory=list)  # (when, how late) of the generator's ticks


class Stack:
    """The deployment, on a Redis and a database of its own, with the handles the faults need."""

    def __init__(self, workdir: Path, smtp_port: int) -> None:
        self.workdir = workdir
        self.db = f"watchparty_faults_{secrets.token_hex(3)}"
        self.redis = OwnRedis(workdir)  # the tests' own redis-server: restarting it harms nobody else
        self.redis.start()
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SMTP_"))}
        env.update(
            {
                "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.db}",
                "REDIS_URL": self.redis.urls()["redis_url"],
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp_port),
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                # every simulated person comes from 127.0.0.1: the per-address limits would stop the traffic
                "RATE_LIMIT_REGISTER_IP": "1000000/minute",
                "RATE_LIMIT_GUEST_IP": "1000000/minute",
                "RATE_LIMIT_INVITE": "1000000/minute",
            }
        )
        cmd = [sys.executable, "-m", "deploy.local", "--dir", str(workdir / "deploy"), "--port", str(self.port)]
        log = workdir / "supervisor.log"
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 180
        while "WatchParty (reference deployment) at" not in log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the deployment did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.url = f"http://127.0.0.1:{self.port}"

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.workdir / "deploy" / "state.json").read_text())
        return data

    async def fault(self, name: str) -> None:
        if name == "kill-api":
            os.kill(self.state()["processes"]["api-2"], signal.SIGKILL)
        elif name == "kill-worker":
            os.kill(self.state()["processes"]["worker-1"], signal.SIGKILL)
        elif name == "restart-redis":
            self.redis.kill()
            await asyncio.sleep(1)
            await asyncio.to_thread(self.redis.start)
        elif name == "block-pg":
            psql(f'ALTER DATABASE "{self.db}" ALLOW_CONNECTIONS false')
            await asyncio.sleep(10)
            psql(f'ALTER DATABASE "{self.db}" ALLOW_CONNECTIONS true')
        elif name == "reload-nginx":
            os.kill(self.state()["processes"]["nginx"], signal.SIGHUP)
        else:
            raise ValueError(name)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.redis.proc is not None and self.redis.proc.poll() is None:
            self.redis.kill()
        psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (random.randrange(256), 90, 160)).save(out, "PNG")
    return out.getvalue()


class Traffic:
    def __init__(self, stack: Stack, plan: Plan, mailbox: Any) -> None:
        self.stack = stack
        self.plan = plan
        self.mailbox = mailbox
        self.figures = Figures()
        self.stopping = asyncio.Event()
        self.http = httpx.AsyncClient(
            base_url=stack.url, timeout=30, limits=httpx.Limits(max_connections=200, max_keepalive_connections=100)
        )
        self.rooms: list[int] = []
        self.host: dict[str, str] = {}
        self.run_id = secrets.token_hex(2)
        self.pending_avatar: tuple[str, int] | None = None
        self.pages: list[tuple[int, set[int]]] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        for attempt in (1, 2):
            try:
                r = await self.http.request(method, path, **kwargs)
                break
            except httpx.RemoteProtocolError as exc:
                # nginx closed a kept-alive connection (a reload ends its old workers' idle ones) as the request
                # went out on it, unread: clients send it again on a new connection, as browsers do
                if attempt == 2:
                    self.figures.transport_errors += 1
                    self.figures.transport_kinds.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                    return None
                self.figures.resent += 1
            except httpx.TransportError as exc:
                self.figures.transport_errors += 1
                self.figures.transport_kinds.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                return None
        self.figures.requests[r.status_code] += 1
        if r.status_code >= 500 and r.status_code != 503:
            self.figures.bad_5xx.append(f"{method} {path} {r.status_code} {r.text[:200]}")
        return r

    async def until(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        """A setup request, tried again (for up to 30 s) until it gets `status`."""
        deadline = time.monotonic() + 30
        while True:
            r = await self.call(method, path, **kwargs)
            if r is not None and r.status_code == status:
                return r
            if time.monotonic() > deadline:
                raise SystemExit(f"{method} {path}: {r.status_code if r else 'no answer'} {r.text if r else ''}")
            await asyncio.sleep(0.5)

    async def _register(self, name: str) -> tuple[dict[str, str], int]:
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        data = (await self.until("POST", "/api/auth/register", 201, json=body)).json()["data"]
        return {"Authorization": f"Bearer {data['token']}"}, int(data["user"]["id"])

    async def setup(self) -> None:
        self.host, _ = await self._register(f"fhost{self.run_id}")
        for i in range(self.plan.rooms):
            r = await self.until("POST", "/api/rooms", 201, json={"name": f"Fault room {i}"}, headers=self.host)
            self.rooms.append(int(r.json()["data"]["id"]))
            self.figures.acknowledged[self.rooms[-1]] = set()

    # -- REST users ---------------------------------------------------------------------------------------------

    async def user(self, n: int, ready: asyncio.Event) -> None:
        headers, _ = await self._register(f"fuser{self.run_id}x{n}")
        room = self.rooms[n % len(self.rooms)]
        await self.until("POST", f"/api/rooms/{room}/join", 200, headers=headers)
        await ready.wait()
        rng = random.Random(n)
        while not self.stopping.is_set():
            pick = rng.random()
            if pick < 0.35:
                await self.call("GET", f"/api/rooms?page={rng.randint(1, 3)}&limit=10")
            elif pick < 0.55:
                await self.call("GET", f"/api/rooms/{rng.choice(self.rooms)}", headers=headers)
            elif pick < 0.65:
                await self.call("GET", f"/api/chat/{room}/messages", headers=headers)
            elif pick < 0.75:
                await self.call("GET", "/api/movies")
            elif pick < 0.85:
                await self.call("GET", "/api/auth/profile", headers=headers)
            else:
                r = await self.call("POST", f"/api/chat/{room}/messages", json={"content": f"m{n}"}, headers=headers)
                if r is not None and r.status_code == 201:
                    self.figures.acknowledged[room].add(int(r.json()["data"]["id"]))
            await asyncio.sleep(rng.uniform(0.2, 0.6))

    # -- jobs ---------------------------------------------------------------------------------------------------

    async def jobs(self, ready: asyncio.Event) -> None:
        await ready.wait()
        n = 0
        inviter_room = self.rooms[0]
        while not self.stopping.is_set():
            n += 1
            kind = n % 3
            if kind == 0:
                name = f"fsign{self.run_id}x{n}"
                body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
                r = await self.call("POST", "/api/auth/register", json=body)
                if r is not None and r.status_code == 201:
                    self.figures.signups.append(f"{name}@example.com")
                    if n % 2 == 0:  # every other new account also uploads an avatar
                        self.pending_avatar = (r.json()["data"]["token"], int(r.json()["data"]["user"]["id"]))
            elif kind == 1:
                address = f"finv{self.run_id}x{n}@example.com"
                r = await self.call(
                    "POST", f"/api/rooms/{inviter_room}/invite", json={"email": address}, headers=self.host
                )
                if r is not None and r.status_code == 201:
                    self.figures.invites.append(address)
            elif self.pending_avatar is not None:
                token, user_id = self.pending_avatar
                self.pending_avatar = None
                files = {"profilePicture": ("a.png", _png(), "image/png")}
                r = await self.call(
                    "POST",
                    "/api/auth/upload-profile-picture",
                    files=files,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if r is not None and r.status_code == 202:
                    self.figures.avatars.append((token, user_id))
            await asyncio.sleep(0.35)

    # -- viewers ------------------------------------------------------------------------------------------------

    async def viewer(self, n: int, connected: Callable[[], None], ready: asyncio.Event) -> None:
        room = self.rooms[n % len(self.rooms)]
        r = await self.until("POST", "/api/auth/guest", 201, json={"displayName": f"v{n}"})
        headers = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        await self.until("POST", f"/api/rooms/{room}/join", 200, headers=headers)
        seen: set[int] = set()  # what the page shows: frames and history read again
        framed: set[int] = set()  # what came as frames
        seq: int | None = None
        epoch: str | None = None
        welcomed = False
        down_since: float | None = None
        failures = 0
        first = True
        while not self.stopping.is_set():
            issued = await self.call("POST", f"/api/rooms/{room}/ws-ticket", headers=headers)
            if issued is None or issued.status_code != 201:
                failures += 1
                await asyncio.sleep(min(5.0, 0.5 * 2 ** min(failures, 4)) * random.uniform(0.5, 1))
                continue
            ticket = issued.json()["data"]["ticket"]
            url = self.stack.url.replace("http", "ws") + f"/api/rooms/{room}/ws?ticket={ticket}"
            close_code: int | None = None
            try:
                async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws:
                    hello: dict[str, Any] = {"type": "hello", "v": 1}
                    if seq is not None and epoch is not None:
                        hello.update(lastSeq=seq, epoch=epoch)
                    await ws.send(json.dumps(hello))
                    await ws.send(json.dumps({"type": "ping", "id": 1, "t0": time.time() * 1000}))
                    last_ping = time.monotonic()
                    while not self.stopping.is_set():
                        try:
                            async with asyncio.timeout(1):
                                raw = await ws.recv()
                        except TimeoutError:
                            if time.monotonic() - last_ping > 10:
                                await ws.send(json.dumps({"type": "ping", "id": 2, "t0": time.time() * 1000}))
                                last_ping = time.monotonic()
                            continue
                        msg = json.loads(raw)
                        kind = msg.get("type")
                        if down_since is not None and kind in ("welcome", "pong"):
                            self._back(down_since)
                            down_since = None
                            failures = 0
                        if isinstance(msg.get("seq"), int) and (seq is None or msg["seq"] > seq or kind == "welcome"):
                            seq = msg["seq"]
                        if kind == "welcome":
                            epoch = msg["epoch"]
                            if first:
                                first = False
                                connected()
                            if welcomed:  # no replay could be made: read what was said meanwhile
                                await self._history(room, headers, seen)
                            welcomed = True
                        elif kind == "chat":  # a page shows a message once, by id; a second frame is counted
                            mid = int(msg["message"]["id"])
                            if mid in framed:
                                self.figures.chat_frames_twice += 1
                            framed.add(mid)
                            seen.add(mid)
            except (OSError, websockets.WebSocketException) as exc:
                close_code = getattr(getattr(exc, "rcvd", None), "code", None)
            if self.stopping.is_set():
                break
            self.figures.reconnects += 1
            if down_since is None:
                down_since = time.monotonic()
            failures += 1
            if close_code not in (1001, 1012):
                await asyncio.sleep(min(5.0, 0.5 * 2 ** min(failures - 1, 4)) * random.uniform(0.5, 1))
        self.pages.append((room, seen))

    async def _lag(self) -> None:
        """How late this generator's own event loop runs: its delay is in every time a viewer measures."""
        while not self.stopping.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.05)
            self.figures.loop_lag.append((before, time.monotonic() - before - 0.05))

    async def _history(self, room: int, headers: dict[str, str], seen: set[int]) -> None:
        r = await self.call("GET", f"/api/chat/{room}/messages?limit=50", headers=headers)
        if r is not None and r.status_code == 200:
            seen.update(int(m["id"]) for m in r.json()["data"])

    def _back(self, down_since: float) -> None:
        """A viewer answered again: count it against the fault that most recently happened before it went down."""
        before = [(at, name) for name, at in self.figures.fault_at.items() if at <= down_since + 0.5]
        if not before:
            return
        at, name = max(before)
        if down_since - at <= 15:  # closed by this fault, not by something later
            self.figures.back_after.setdefault(name, []).append(time.monotonic() - at)

    # -- the run ------------------------------------------------------------------------------------------------

    async def run(self) -> Figures:
        await self.setup()
        ready = asyncio.Event()
        joined = 0
        all_in = asyncio.Event()

        def connected() -> None:
            nonlocal joined
            joined += 1
            if joined == self.plan.viewers:
                all_in.set()

        tasks = [asyncio.create_task(self.viewer(i, connected, ready)) for i in range(self.plan.viewers)]
        tasks += [asyncio.create_task(self.user(i, ready)) for i in range(self.plan.users)]
        tasks.append(asyncio.create_task(self.jobs(ready)))
        tasks.append(asyncio.create_task(self._lag()))
        async with asyncio.timeout(240):
            await all_in.wait()
        say(f"  {self.plan.viewers} viewers in {self.plan.rooms} rooms, {self.plan.users} users: traffic starts")
        ready.set()
        start = time.monotonic()
        cpu_before = _cpu_now()
        for at, name in self.plan.faults:
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            self.figures.fault_at[name] = time.monotonic()
            say(f"  {at:5.0f} s: {name}")
            await self.stack.fault(name)
        await asyncio.sleep(max(0.0, start + self.plan.seconds - time.monotonic()))
        await asyncio.sleep(3)  # the last messages reach the pages
        elapsed = time.monotonic() - start
        cpu_after = _cpu_now()
        self.figures.cpu_generator = (cpu_after[0] - cpu_before[0]) / elapsed
        self.figures.cpu_machine = (cpu_after[1] - cpu_before[1]) / elapsed
        self.stopping.set()
        await asyncio.gather(*tasks)
        await self.check()
        await self.http.aclose()
        return self.figures

    async def check(self) -> None:
        f = self.figures
        for room, seen in self.pages:
            f.lost_on_pages += len(f.acknowledged[room] - seen)
        ids = [i for room_ids in f.acknowledged.values() for i in room_ids]
        if ids:
            found = await _count_messages(self.stack.db, ids)
            f.writes_missing = len(ids) - found
        deadline = time.monotonic() + 90  # jobs delayed by the faults catch up (a dependency outage backs off)
        expected = [(a, "Welcome") for a in f.signups] + [(a, "invite") for a in f.invites]
        while time.monotonic() < deadline:
            got = Counter((str(m["To"]), _kind(m)) for m in list(self.mailbox.messages))
            missing = [a for a, k in expected if got[(a, k)] == 0]
            avatars_missing = await self._avatars_missing()
            if not missing and not avatars_missing:
                break
            await asyncio.sleep(1)
        got = Counter((str(m["To"]), _kind(m)) for m in list(self.mailbox.messages))
        f.jobs_lost = [f"{k} mail to {a}" for a, k in expected if got[(a, k)] == 0]
        f.jobs_lost += [f"avatar of user {u}" for u in await self._avatars_missing()]
        f.jobs_twice = [f"{k} mail to {a} x{got[(a, k)]}" for a, k in expected if got[(a, k)] > 1]

    async def _avatars_missing(self) -> list[int]:
        missing = []
        for token, user_id in self.figures.avatars:
            r = await self.call("GET", "/api/auth/profile", headers={"Authorization": f"Bearer {token}"})
            if r is None or r.status_code != 200 or not r.json()["data"].get("profilePicture"):
                missing.append(user_id)
        return missing


def _cpu_now() -> tuple[float, float]:
    """CPU seconds: this process's (the traffic generator), and the whole machine's busy time (/proc/stat)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return own.ru_utime + own.ru_stime, (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _kind(message: Any) -> str:
    subject = str(message["Subject"])
    return "Welcome" if "Welcome" in subject else "invite" if "invited you" in subject else subject


async def _count_messages(db: str, ids: list[int]) -> int:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=db)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM message WHERE id = ANY($1::int[])", ids))
    finally:
        await conn.close()


async def run_plan(plan: Plan, workdir: Path, mailbox: Any) -> Figures:
    stack = await asyncio.to_thread(Stack, workdir, mailbox.port)
    try:
        return await Traffic(stack, plan, mailbox).run()
    finally:
        await asyncio.to_thread(stack.stop)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


def report(plan: Plan, f: Figures) -> list[str]:
    total = sum(f.requests.values())
    lines = [
        f"{plan.users} REST users, {plan.viewers} viewers in {plan.rooms} rooms, a job every 0.35 s, for "
        f"{plan.seconds:.0f} s through nginx; faults at "
        + ", ".join(f"{at:.0f} s ({name})" for at, name in plan.faults)
        + ".",
        "",
        "| figure | target | measured |",
        "|---|---|---|",
        f"| requests answered | – | {total:,} ({f.requests[503]:,} of them 503) |",
        f"| 5xx other than 503 | 0 | {len(f.bad_5xx)} |",
        f"| requests with no HTTP answer | 0 | {f.transport_errors} |",
        f"| requests sent again: nginx closed the kept-alive connection they went out on, unread | – | {f.resent} |",
        f"| acknowledged chat posts missing from the database | 0 | {f.writes_missing} of "
        f"{sum(map(len, f.acknowledged.values())):,} |",
        f"| jobs lost (sign-up and invite mails, avatars) | 0 | {len(f.jobs_lost)} of "
        f"{len(f.signups) + len(f.invites) + len(f.avatars)} |",
        f"| jobs whose mail came twice | 0 | {len(f.jobs_twice)} |",
        f"| chat messages missing from a viewer's page at the end | 0 | {f.lost_on_pages} |",
        f"| chat frames a viewer got twice | 0 | {f.chat_frames_twice} |",
        f"| reconnects (all viewers) | – | {f.reconnects} |",
        f"| cores busy during the traffic (of {os.cpu_count()}): all, and the traffic generator's share | – | "
        f"{f.cpu_machine:.2f}, {f.cpu_generator:.2f} |",
    ]
    for _at, name in plan.faults:
        back = f.back_after.get(name, [])
        if back:
            at = f.fault_at[name]
            lag = max((late for when, late in f.loop_lag if at <= when <= at + max(back)), default=0.0)
            lines.append(
                f"| viewers back after {name}: p95 (max) | p95 ≤ 2 s | {len(back)} viewers: {p95(back):.2f} s "
                f"({max(back):.2f} s); the generator's loop up to {lag:.2f} s late meanwhile |"
            )
        else:
            lines.append(f"| viewers back after {name} | – | no socket was closed by it |")
    return lines


def main(rounds: int = 1, seconds: int = 10) -> None:
    del rounds, seconds  # the plan sets its own length
    from tests.smtp import start_smtp  # the tests' in-process SMTP server (aiosmtpd)

    controller, mailbox = start_smtp()
    workdir = ROOT / "var" / "bench-faults"
    workdir.mkdir(parents=True, exist_ok=True)
    say("fault test (full): the reference deployment under traffic")
    try:
        figures = asyncio.run(run_plan(FULL, workdir, mailbox))
    finally:
        controller.stop()
    lines = report(FULL, figures)
    for line in lines:
        say(line)
    write_operations(lines)


def write_operations(lines: list[str]) -> None:
    """Rewrite the fault test's section of docs/operations.md (between its markers)."""
    text = OPERATIONS.read_text()
    start, end = "<!-- faults:start -->", "<!-- faults:end -->"
    stamp = time.strftime("%Y-%m-%d")
    body = "\n".join([start, f"_{stamp}, `python -m bench faults` (or `make bench`)._", "", *lines, end])
    if start in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n## The fault test\n" + body + "\n"
    OPERATIONS.write_text(text)
