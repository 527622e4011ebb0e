"""Uncached GET /api/rooms: WatchParty against the Express peer, same data, same machine, same run.

Both serve from PostgreSQL on every request: the peer with CACHE_ENABLED=0 (its GROUP BY + COUNT query),
WatchParty with no cache at all (correlated count over a partial index). Rounds alternate between the two, and
the report gives medians and the ratio.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
from pathlib import Path

from bench.common import (
    ROOT,
    SHARED,
    WrkResult,
    ensure_tool,
    free_port,
    psql_file,
    python,
    recreate_db,
    say,
    start,
    stop,
    wrk,
)
from bench.report import write_section

WORK = ROOT / "bench" / ".work"
PEER_DB = "watchparty_peer"
WP_DB = "watchparty_bench"


def setup_peer() -> Path:
    ensure_tool("node", "nodejs")
    peer = WORK / "express-seed"
    if not (peer / "node_modules").exists():
        shutil.rmtree(peer, ignore_errors=True)
        shutil.copytree(SHARED / "peers" / "express-seed", peer)
        for p in peer.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)
        say("npm install (peer)")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=peer, check=True)
    recreate_db(PEER_DB)
    say("seeding the peer's database")
    subprocess.run(
        ["node", "src/seed.js", "--indexes"],
        cwd=peer,
        check=True,
        env={**os.environ, "DB_NAME": PEER_DB},
        stdout=subprocess.DEVNULL,
    )
    return peer


def setup_watchparty() -> str:
    recreate_db(WP_DB)
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{WP_DB}"
    subprocess.run(
        [python(), "-m", "watchparty", "migrate"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "test"},
        stdout=subprocess.DEVNULL,
    )
    say("seeding WatchParty's database with the same data")
    psql_file(ROOT / "bench" / "seed.sql", WP_DB)
    return url


def run_peer(peer: Path, seconds: int) -> WrkResult:
    port = free_port()
    env = {"PORT": str(port), "DB_NAME": PEER_DB, "CACHE_ENABLED": "0", "LOG_CACHE": "0"}
    proc = start(["node", "src/server.js"], env, peer, f"http://127.0.0.1:{port}/api/health", WORK / "peer.log")
    try:
        wrk(f"http://127.0.0.1:{port}/api/rooms", seconds=2)  # warm-up
        return wrk(f"http://127.0.0.1:{port}/api/rooms", seconds=seconds)
    finally:
        stop(proc)


def run_watchparty(db_url: str, seconds: int, workers: int = 1) -> WrkResult:
    port = free_port()
    env = {
        "ENVIRONMENT": "production",  # production settings: all middleware, JSON logs at INFO
        "JWT_SECRET": secrets.token_urlsafe(48),
        "DATABASE_URL": db_url,
        "REDIS_URL": "redis://127.0.0.1:6379/10",  # the shared Redis, as bench/cache.py; no embedded Valkey
        "KEY_PREFIX": "benchru",
        "CACHE_ENABLED": "false",  # uncached: every request reads PostgreSQL
        "PORT": str(port),
    }
    cmd = [python(), "-m", "watchparty", "serve", "--no-migrate", "--workers", str(workers)]
    proc = start(cmd, env, ROOT, f"http://127.0.0.1:{port}/api/health", WORK / "watchparty.log")
    try:
        wrk(f"http://127.0.0.1:{port}/api/rooms", seconds=2)
        return wrk(f"http://127.0.0.1:{port}/api/rooms", seconds=seconds)
    finally:
        stop(proc)


def median(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.rps for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def main(rounds: int = 3, seconds: int = 10) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    peer = setup_peer()
    db_url = setup_watchparty()
    peer_runs: list[WrkResult] = []
    wp_runs: list[WrkResult] = []
    for i in range(1, rounds + 1):
        say(f"round {i}/{rounds}: peer (uncached)")
        peer_runs.append(run_peer(peer, seconds))
        say(f"  peer: {peer_runs[-1].row()}")
        say(f"round {i}/{rounds}: WatchParty (uncached)")
        wp_runs.append(run_watchparty(db_url, seconds))
        say(f"  watchparty: {wp_runs[-1].row()}")
    p, w = median(peer_runs), median(wp_runs)
    ratio = w.rps / p.rps
    say(f"median: peer {p.rps:,.0f} req/s, WatchParty {w.rps:,.0f} req/s, ratio {ratio:.1f}x")
    lines = [
        f"`wrk -t2 -c50 -d{seconds}s --latency` on loopback, {rounds} alternating rounds, medians; "
        "both on the peer's seed data (1,000 rooms, ~8,000 members) in PostgreSQL, nothing cached.",
        "",
        "| server | req/s | p50 ms | p99 ms | non-2xx or socket errors |",
        "|---|---|---|---|---|",
        f"| Express peer, `CACHE_ENABLED=0` (GROUP BY + COUNT) | {p.row()} | {p.errors} |",
        f"| WatchParty, 1 process, production settings, cache off (one statement: ADR 0012) | {w.row()} | {w.errors} |",
        "",
        f"**Ratio, WatchParty / peer: {ratio:.1f}×** (req/s). Per round: "
        + ", ".join(f"{b.rps / a.rps:.1f}×" for a, b in zip(peer_runs, wp_runs, strict=True))
        + ".",
    ]
    write_section("rooms-uncached", "Uncached `GET /api/rooms` against the Express peer", lines)
