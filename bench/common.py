"""Process, database and wrk helpers shared by the benchmarks."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def row(self) -> str:
        return f"{self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f}"


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_tool(name: str, apt_package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    say(f"installing {apt_package} from Debian's packages")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", apt_package], check=True)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is needed and could not be installed")
    return found


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def psql_file(path: Path, db: str) -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def recreate_db(name: str) -> None:
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """A process's name, parent and CPU seconds (user + system) from /proc, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _processes() -> dict[int, tuple[str, int, float]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            out[int(entry.name)] = stat
    return out


class CpuMeter:
    """CPU seconds spent during a pass by the server under test (its process and every descendant), PostgreSQL
    (every backend), Redis, and this script's children (wrk). Processes that live through the pass are counted
    exactly; one that starts and ends inside it is missed (the servers' pools and wrk's threads live throughout)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._before = self._read()

    def _read(self) -> dict[str, float]:
        procs = _processes()
        tree, grew = {self.server_pid}, True
        while grew:
            more = {pid for pid, (_n, parent, _c) in procs.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        groups = {"server": 0.0, "PostgreSQL": 0.0, "Redis": 0.0}
        for pid, (name, _parent, cpu) in procs.items():
            if pid in tree:
                groups["server"] += cpu
            elif name == "postgres":
                groups["PostgreSQL"] += cpu
            elif name.startswith(("redis-server", "valkey-server")):
                groups["Redis"] += cpu
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        groups["wrk"] = children.ru_utime + children.ru_stime
        return groups

    def since(self) -> dict[str, float]:
        after = self._read()
        return {name: max(0.0, after[name] - self._before[name]) for name in after}


def start(cmd: list[str], env: dict[str, str], cwd: Path, health_url: str, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"{cmd} did not become healthy:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(
    url: str,
    seconds: int = 10,
    connections: int = 50,
    threads: int = 2,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> WrkResult:
    """wrk's figures for one URL, or for what a Lua `script` asks for (bench/mix.lua), with `env` for the script."""
    exe = ensure_tool("wrk", "wrk")
    args = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        args += ["-s", str(script)]
    ran = subprocess.run(
        [*args, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
        env={**os.environ, **(env or {})},
    )
    if script is not None and ran.stderr.strip():  # a script that fails to load makes wrk ask for the bare URL
        raise SystemExit(f"wrk's script {script} failed: {ran.stderr.strip()}")
    out = ran.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    return WrkResult(rps, _latency(out, "50%"), _latency(out, "99%"), errors)


def _latency(out: str, pct: str) -> float:
    m = re.search(rf"^\s+{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def python() -> str:
    return sys.executable
