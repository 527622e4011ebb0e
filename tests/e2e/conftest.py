"""A real `watchparty serve` process on a free port, for end-to-end tests over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database
from watchparty.config import Settings
from watchparty.core.db import Database
from watchparty.jobs.queues import Queues, parse_job_id
from watchparty.models import UserRole
from watchparty.users import service as users_service

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    url: str
    workdir: Path
    log: Path
    pid: int = 0  # the `watchparty serve` process (its API workers are its children)

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its descendants."""
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
            todo += [int(c) for c in children]
        return total


async def promote(database_url: str, user_id: int) -> None:
    """Make a user an administrator, straight in the server's database."""
    db = Database(Settings(database_url=database_url))
    try:
        async with db.session() as session:
            await users_service.set_role(session, user_id, UserRole.ADMIN)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(workdir: Path, cmd: list[str], env_overrides: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in its own session (so that stopping it takes its children), output to `log`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SMTP_"))}
    env.update({"PYTHONUNBUFFERED": "1", **env_overrides})
    return subprocess.Popen(
        cmd,
        cwd=workdir,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_server(
    workdir: Path, env_overrides: dict[str, str], command: list[str] | None = None, port: int | None = None
) -> tuple[subprocess.Popen[bytes], LiveServer]:
    port = port or free_port()
    log = workdir / "server.log"
    cmd = command or [sys.executable, "-m", "watchparty", "serve"]
    proc = spawn(workdir, cmd, {"PORT": str(port), "HOST": "127.0.0.1", **env_overrides}, log)
    server = LiveServer(f"http://127.0.0.1:{port}", workdir, log, proc.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                return proc, server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def server_env(settings: Settings, database_url: str, key_prefix: str, **extra: str) -> dict[str, str]:
    """Environment for a `watchparty serve` on the tests' Redis, with cheap password hashing. Its database
    and key prefix are its own, so that the test session's job relay and worker never take its jobs."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.effective_redis_url or "",
        "CACHE_REDIS_URL": settings.effective_cache_redis_url or "",
        "KEY_PREFIX": key_prefix,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
        "MEDIA_CHECK_ALLOW_PRIVATE": "true",  # the tests' media servers are on 127.0.0.1 (tests/media.py)
        # every test viewer signs up (or joins as a guest) from 127.0.0.1; the counters are in Redis, per KEY_PREFIX
        "RATE_LIMIT_REGISTER_IP": "100000/minute",
        "RATE_LIMIT_GUEST_IP": "100000/minute",
        **extra,
    }


@pytest.fixture(scope="module")
async def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def live_server(
    settings: Settings, e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The API on a database of its own, with production-like logging and cheap password hashing."""
    workdir = tmp_path_factory.mktemp("live")
    limits = {
        f"RATE_LIMIT_{name}": "10000/minute"
        for name in ("LOGIN", "LOGIN_ACCOUNT", "LOGIN_IP", "FORGOT", "FORGOT_IP", "INVITE")
    }
    env = server_env(settings, e2e_database_url, f"{settings.key_prefix}-live", **limits)
    proc, server = start_server(workdir, env)
    try:
        yield server
    finally:
        stop_server(proc)


def start_worker(workdir: Path, env_overrides: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """A real `watchparty worker` process; returns once it says it is running."""
    log = workdir / f"worker-{time.monotonic_ns()}.log"
    proc = spawn(workdir, [sys.executable, "-m", "watchparty", "worker"], env_overrides, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "watchparty worker running" in log.read_text(errors="replace"):
            return proc, log
        if proc.poll() is not None:
            return proc, log  # it may have died on purpose (a crash point); the caller checks
        time.sleep(0.05)
    stop_server(proc)
    raise RuntimeError(f"worker did not start:\n{log.read_text()}")


@contextlib.contextmanager
def running_pair(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two real `watchparty serve` processes with one environment (one database, one Redis, one key prefix)."""
    a_proc, a = start_server(tmp_path_factory.mktemp("a"), env)
    try:
        b_proc, b = start_server(tmp_path_factory.mktemp("b"), env)
        try:
            yield a, b
        finally:
            stop_server(b_proc)
    finally:
        stop_server(a_proc)


@pytest.fixture(scope="module")
def two(
    settings: Settings, e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """The realtime tests' cluster. Each module has its own database and key prefix: room ids start again at 1,
    and must not meet an old room's state."""
    prefix = f"{settings.key_prefix}-{request.module.__name__.rsplit('.', 1)[-1]}"
    env = server_env(
        settings, e2e_database_url, prefix, CORS_ORIGINS="https://good.example", SYNC_WAIT_TIMEOUT_MS="1500"
    )
    with running_pair(env, tmp_path_factory) as pair:
        yield pair


def worker_env(s: Settings) -> dict[str, str]:
    """The environment of a real `watchparty worker` on the settings' database, Redis and key prefix."""
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": s.database_url,
        "REDIS_URL": s.effective_redis_url or "",
        "CACHE_REDIS_URL": s.effective_cache_redis_url or "",
        "KEY_PREFIX": s.key_prefix,
        "JWT_SECRET": s.jwt_secret.get_secret_value(),
        "SMTP_HOST": s.smtp_host or "",
        "SMTP_PORT": str(s.smtp_port),
        "JOB_LOCK_MS": str(s.job_lock_ms),
        "JOB_STALLED_INTERVAL_MS": str(s.job_stalled_interval_ms),
        "RELAY_INTERVAL_MS": "100",
        "CLEANUP_CRON": "",
        "MEDIA_DIR": str(s.media_dir),
        "LOG_LEVEL": "INFO",
    } | ({"DEBUG_CRASH_FILE": str(s.debug_crash_file)} if s.debug_crash_file else {})


async def wait_completed(s: Settings, public_id: str, timeout: float = 30) -> None:
    parsed = parse_job_id(public_id)
    assert parsed is not None
    queues = Queues(s)
    try:
        deadline = time.monotonic() + timeout
        while (view := await queues.get(*parsed)) is None or view.state != "completed":
            assert time.monotonic() < deadline, f"job {public_id} is {view and view.state}"
            await asyncio.sleep(0.1)
    finally:
        await queues.close()
