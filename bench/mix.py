"""Realistic traffic: a mix over every key of the cached endpoints, WatchParty against the Express peer, one run.

Both serve the peer's seed data (1,000 rooms, 800 of them public; 500 movies; 50,000 messages) from PostgreSQL.
The mix: room list pages 1-20, every public room, movie list pages 1-10, every movie, every public room's chat
(2,130 keys), drawn uniformly or with Zipf weights (s = 1, over a shuffled order, so the hot keys are spread over every
endpoint). WatchParty also runs the full mix: those keys and the profiles of 1,000 users, each with its own token
(3,130 keys); the peer has no profiles. "Cold" is the first pass after a start on an empty Redis, "warm" the pass
after it on the same process. The hit ratio is the servers' own: WatchParty's cache counters
(`{prefix}:cache:stats`), and for the peer Redis's keyspace hits and misses (the peer's `GET`s are the only reads
Redis serves while it runs).
"""

from __future__ import annotations

import random
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import redis

from bench.cache import peer_server
from bench.common import ROOT, CpuMeter, WrkResult, free_port, python, say, start, stop, wrk
from bench.report import write_section
from bench.rooms_uncached import WORK, WP_DB, setup_peer, setup_watchparty
from watchparty.config import Settings
from watchparty.core.security import TokenCodec

REDIS = "redis://127.0.0.1:6379"
PEER_REDIS_DB = 14  # the peer's default (src/config/redis.js)
WP_CACHE_DB = 11
LUA = ROOT / "bench" / "mix.lua"
PROFILES = 1000
JWT_SECRET = secrets.token_urlsafe(48)


@dataclass
class Row:
    server: str
    mix: str
    spread: str  # "uniform" or "Zipf"
    phase: str  # "cold", "warm" or "uncached"
    result: WrkResult
    hits: str

    def key(self) -> tuple[str, str, str]:
        return (self.mix, self.spread, self.phase)


@dataclass
class CpuRow:
    """Where the machine's CPU went in one uncached pass: seconds per group, and the requests served."""

    server: str
    spread: str
    rps: float
    seconds: int
    cpu: dict[str, float]

    def per_request_us(self, group: str) -> float:
        return self.cpu[group] / (self.rps * self.seconds) * 1e6

    def line(self) -> str:
        groups = ("server", "PostgreSQL", "Redis", "wrk")
        busy = sum(self.cpu.values()) / self.seconds
        others = sum(self.per_request_us(g) for g in groups if g != "server")
        ceiling = 2e6 / others if others else float("inf")  # 2 cores, the server itself costing nothing
        cells = " | ".join(f"{self.per_request_us(g):,.0f}" for g in groups)
        return f"| {self.server} | {self.spread} | {self.rps:,.0f} | {cells} | {busy:.2f} | {ceiling:,.0f} |"


def _keys() -> list[str]:
    out = subprocess.run(
        [
            "psql",
            "-At",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            WP_DB,
            "-c",
            "SELECT 'r' || id FROM room WHERE visibility = 'public' UNION ALL SELECT 'm' || id FROM movie",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    rooms = [int(x[1:]) for x in out if x.startswith("r")]
    movies = [int(x[1:]) for x in out if x.startswith("m")]
    paths = [f"/api/rooms?page={p}&limit=10" for p in range(1, 21)]
    paths += [f"/api/rooms/{i}" for i in rooms]
    paths += [f"/api/movies?page={p}&limit=20" for p in range(1, 11)]
    paths += [f"/api/movies/{i}" for i in movies]
    paths += [f"/api/chat/{i}/messages" for i in rooms]
    return paths


def _profile_lines() -> list[str]:
    codec = TokenCodec(Settings(jwt_secret=JWT_SECRET))  # the server's own tokens: the seed's users are at version 0
    return [f"/api/auth/profile\t{codec.issue_access(user_id, 0)}" for user_id in range(1, PROFILES + 1)]


def _write_mix(name: str, lines: list[str]) -> Path:
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)  # the Zipf ranks fall on every endpoint alike
    path = WORK / f"mix-{name}.txt"
    path.write_text("\n".join(shuffled) + "\n")
    return path


def _watchparty(db_url: str, cache: bool, workers: int, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        "ENVIRONMENT": "production",
        "JWT_SECRET": JWT_SECRET,
        "DATABASE_URL": db_url,
        "REDIS_URL": f"{REDIS}/10",
        "CACHE_REDIS_URL": f"{REDIS}/{WP_CACHE_DB}",
        "KEY_PREFIX": prefix,
        "CACHE_ENABLED": "true" if cache else "false",
        "CACHE_STATS_FLUSH_MS": "200",
        "PORT": str(port),
    }
    cmd = [python(), "-m", "watchparty", "serve", "--no-migrate", "--workers", str(workers)]
    proc = start(cmd, env, ROOT, f"http://127.0.0.1:{port}/api/health", WORK / "watchparty.log")
    return proc, f"http://127.0.0.1:{port}"


class Counters:
    """Hits and misses as the server counts them, read before and after a pass."""

    def __init__(self, read: Callable[[], tuple[int, int]]) -> None:
        self.read = read
        self.before = read()

    def since(self) -> str:
        time.sleep(0.5)  # WatchParty flushes its counters every 200 ms here
        hits, misses = (a - b for a, b in zip(self.read(), self.before, strict=True))
        self.before = self.read()
        total = hits + misses
        return f"{hits / total:.1%}" if total else "–"


def _wp_counters(prefix: str) -> Callable[[], tuple[int, int]]:
    client = redis.Redis.from_url(f"{REDIS}/{WP_CACHE_DB}")

    def read() -> tuple[int, int]:
        raw: dict[bytes, bytes] = client.hgetall(f"{prefix}:cache:stats")  # type: ignore[assignment]
        hits = sum(int(v) for k, v in raw.items() if k.endswith(b":HIT"))
        other = sum(int(v) for k, v in raw.items() if not k.endswith(b":HIT"))
        return hits, other

    return read


def _peer_counters() -> tuple[int, int]:
    info = redis.Redis.from_url(REDIS).info("stats")
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def _pass(base: str, mix: Path, zipf: float, seconds: int) -> WrkResult:
    env = {"MIX_FILE": str(mix), "MIX_ZIPF": str(zipf)}
    return wrk(base + "/", seconds=seconds, script=LUA, env=env)


def _launcher(db_url: str, cache: bool, workers: int) -> Callable[[str], tuple[subprocess.Popen[bytes], str]]:
    return lambda prefix: _watchparty(db_url, cache, workers, prefix)


def main(rounds: int = 1, seconds: int = 10) -> None:
    del rounds  # one run: every row below comes from it
    WORK.mkdir(parents=True, exist_ok=True)
    peer_dir = setup_peer()
    db_url = setup_watchparty()
    keys = _keys()
    mixes = {"5 endpoints": _write_mix("five", keys), "6 endpoints": _write_mix("six", keys + _profile_lines())}
    say(f"{len(keys)} keys in the 5-endpoint mix, {len(keys) + PROFILES} with the profiles")
    rows: list[Row] = []
    cpu_rows: list[CpuRow] = []
    spreads = {"uniform": 0.0, "Zipf": 1.0}

    def cached(
        server: str,
        launch: Callable[[str], tuple[subprocess.Popen[bytes], str]],
        mix: str,
        counters: Callable[[str], Callable[[], tuple[int, int]]],
        spread_names: tuple[str, ...] = ("uniform", "Zipf"),
    ) -> None:
        for spread in spread_names:
            prefix = f"benchmix{secrets.token_hex(3)}"
            proc, base = launch(prefix)
            try:
                count = Counters(counters(prefix))
                for phase in ("cold", "warm"):
                    result = _pass(base, mixes[mix], spreads[spread], seconds)
                    rows.append(Row(server, mix, spread, phase, result, count.since()))
                    say(f"  {server}, {mix}, {spread}, {phase}: {result.row()} hits {rows[-1].hits}")
            finally:
                stop(proc)

    def uncached(server: str, launch: Callable[[], tuple[subprocess.Popen[bytes], str]]) -> None:
        proc, base = launch()
        try:
            for spread in spreads:
                _pass(base, mixes["5 endpoints"], spreads[spread], 2)  # connections and PostgreSQL's buffers
                meter = CpuMeter(proc.pid)
                result = _pass(base, mixes["5 endpoints"], spreads[spread], seconds)
                cpu_rows.append(CpuRow(server, spread, result.rps, seconds, meter.since()))
                rows.append(Row(server, "5 endpoints", spread, "uncached", result, "–"))
                say(f"  {server}, uncached, {spread}: {result.row()} CPU {cpu_rows[-1].line()}")
        finally:
            stop(proc)

    def flush_peer() -> None:
        redis.Redis.from_url(f"{REDIS}/{PEER_REDIS_DB}").flushdb()

    def peer_cached(_prefix: str) -> tuple[subprocess.Popen[bytes], str]:
        flush_peer()
        return peer_server(peer_dir, True, False)

    say("peer")
    cached("peer", peer_cached, "5 endpoints", lambda _p: _peer_counters)
    uncached("peer", lambda: peer_server(peer_dir, False, False))
    for workers in (1, 2):
        name = f"WatchParty, {workers} process{'es' if workers > 1 else ''}"
        say(name)
        cached(name, _launcher(db_url, True, workers), "5 endpoints", _wp_counters)
        uncached(name, partial(_launcher(db_url, False, workers), f"benchmixu{workers}"))
    say("WatchParty, 1 process, with the profiles")
    cached(
        "WatchParty, 1 process",
        lambda prefix: _watchparty(db_url, True, 1, prefix),
        "6 endpoints",
        _wp_counters,
        ("uniform",),
    )
    _report(rows, cpu_rows, seconds, len(keys))


def _targets(rows: list[Row], peer: dict[tuple[str, str, str], Row]) -> list[str]:
    """Issue 18's targets, each a ratio to the peer in this run: warm ≥ 5×, cold ≥ 2×, uncached ≥ 3×, p99 ≤ the
    peer's (1 process, the 5-endpoint mix, both spreads)."""
    one = {r.key(): r for r in rows if r.server == "WatchParty, 1 process"}
    out = ["Against the targets (WatchParty 1 process / peer, the 5-endpoint mix):", ""]
    for phase, goal in (("warm", 5.0), ("cold", 2.0), ("uncached", 3.0)):
        for spread in ("uniform", "Zipf"):
            key = ("5 endpoints", spread, phase)
            if key not in one or key not in peer:
                continue
            ours, theirs = one[key].result, peer[key].result
            ratio = ours.rps / theirs.rps
            met = "met" if ratio >= goal else "**not met**"
            p99 = "at or below" if ours.p99_ms <= theirs.p99_ms else "**above**"
            out.append(
                f"- {phase}, {spread}: {ratio:.1f}× (target {goal:.0f}×: {met}); p99 {ours.p99_ms:.1f} ms, {p99} the "
                f"peer's {theirs.p99_ms:.1f} ms."
            )
    return out


def _report(rows: list[Row], cpu_rows: list[CpuRow], seconds: int, keys: int) -> None:
    peer = {r.key(): r for r in rows if r.server == "peer"}
    lines = [
        f"Command: `make bench` (or `.tools/bin/uv run python -m bench mix`). `wrk -t2 -c50 -d{seconds}s --latency` "
        "on loopback with `bench/mix.lua`, every row from one run, the peer's seed data in PostgreSQL for both; "
        "WatchParty with production settings.",
        "",
        f"The 5-endpoint mix has {keys:,} keys: room list pages 1-20, every public room (800), movie list pages "
        f"1-10, every movie (500), every public room's chat (800). The 6-endpoint mix adds `GET /api/auth/profile` "
        f"for {PROFILES:,} users, each with its own token (the peer has no profiles). Zipf: s = 1 over a shuffled "
        "order of the keys. Cold: the first pass after a start on an empty Redis; warm: the pass after it. Hits: "
        "the servers' own counters (WatchParty's cache counters; the peer's Redis keyspace hits and misses).",
        "",
        "| server | mix | spread | pass | req/s | p50 ms | p99 ms | hits | × peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        match = peer.get(r.key())
        ratio = "–" if match is None or r.server == "peer" else f"{r.result.rps / match.result.rps:.1f}×"
        lines.append(f"| {r.server} | {r.mix} | {r.spread} | {r.phase} | {r.result.row()} | {r.hits} | {ratio} |")
    errors = sum(r.result.errors for r in rows)
    lines += ["", f"Non-2xx responses or socket errors over all rows: {errors}.", "", *_targets(rows, peer)]
    lines += [
        "",
        "Where the CPU goes in the uncached passes (CPU µs per request, from /proc, over the same 10 s; "
        "`bench/common.py:CpuMeter`). \"Cores busy\" is every group's CPU over the pass's time (the machine has 2). "
        '"Ceiling" is the rate the 2 cores could reach if the server under test cost nothing: what PostgreSQL, '
        "Redis and wrk spend per request bounds any server on this machine.",
        "",
        "| server | spread | req/s | server µs | PostgreSQL µs | Redis µs | wrk µs | cores busy | ceiling req/s |",
        "|---|---|---|---|---|---|---|---|---|",
        *(r.line() for r in cpu_rows),
    ]
    write_section("mix", "Realistic traffic: a mix over every key, against the Express peer", lines)
