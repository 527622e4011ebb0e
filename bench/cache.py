"""Cached and uncached GET /api/rooms and GET /api/chat/{id}/messages: WatchParty, the Express peer, bare ASGI.

One run, same machine, same seeded data. The peer runs as designed (LOG_CACHE=1) and without its HIT/MISS logging
(LOG_CACHE=0); ratios use the faster of the two. WatchParty runs with production settings (all middleware, JSON
logs at INFO), with one API process and with two behind the same Redis. The bare ASGI app serves WatchParty's own
cached body from memory: the ceiling for Python on this machine.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import ROOT, WrkResult, free_port, python, say, start, stop, wrk
from bench.report import write_section
from bench.rooms_uncached import PEER_DB, WORK, setup_peer, setup_watchparty

CHAT_ROOM = 1  # public in the seed (every fifth room is private)
REDIS = "redis://127.0.0.1:6379"


def peer_server(peer: Path, cache: bool, log_cache: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        "PORT": str(port),
        "DB_NAME": PEER_DB,
        "CACHE_ENABLED": "1" if cache else "0",
        "LOG_CACHE": "1" if log_cache else "0",
    }
    proc = start(["node", "src/server.js"], env, peer, f"http://127.0.0.1:{port}/api/health", WORK / "peer.log")
    return proc, f"http://127.0.0.1:{port}"


def _watchparty(db_url: str, cache: bool, workers: int, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        "ENVIRONMENT": "production",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "DATABASE_URL": db_url,
        "REDIS_URL": f"{REDIS}/10",
        "CACHE_REDIS_URL": f"{REDIS}/11",
        "KEY_PREFIX": prefix,
        "CACHE_ENABLED": "true" if cache else "false",
        "PORT": str(port),
    }
    cmd = [python(), "-m", "watchparty", "serve", "--no-migrate", "--workers", str(workers)]
    proc = start(cmd, env, ROOT, f"http://127.0.0.1:{port}/api/health", WORK / "watchparty.log")
    return proc, f"http://127.0.0.1:{port}"


def _bare(body: bytes) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    body_file = WORK / "bare-body.json"
    body_file.write_bytes(body)
    cmd = [
        python(),
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-ws",
        "bench.bare_asgi:app",
    ]
    proc = start(cmd, {"BARE_BODY_FILE": str(body_file)}, ROOT, f"http://127.0.0.1:{port}/", WORK / "bare.log")
    return proc, f"http://127.0.0.1:{port}"


def _measure(base: str, paths: dict[str, str], seconds: int) -> dict[str, WrkResult]:
    out = {}
    for name, path in paths.items():
        httpx.get(base + path, timeout=10)  # the first request fills the cache
        wrk(base + path, seconds=2)
        out[name] = wrk(base + path, seconds=seconds)
        say(f"    {name}: {out[name].row()}")
    return out


def main(rounds: int = 1, seconds: int = 10) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    peer_dir = setup_peer()
    db_url = setup_watchparty()
    paths = {"rooms": "/api/rooms", "chat": f"/api/chat/{CHAT_ROOM}/messages"}
    results: dict[str, dict[str, WrkResult]] = {}
    hit_ratio = "n/a"

    configs: list[tuple[str, Callable[[], tuple[subprocess.Popen[bytes], str]]]] = [
        ("peer cached, LOG_CACHE=1", lambda: peer_server(peer_dir, True, True)),
        ("peer cached, LOG_CACHE=0", lambda: peer_server(peer_dir, True, False)),
        ("peer uncached", lambda: peer_server(peer_dir, False, False)),
        ("WatchParty cached, 1 process", lambda: _watchparty(db_url, True, 1, "benchc1")),
        ("WatchParty cached, 2 processes", lambda: _watchparty(db_url, True, 2, "benchc2")),
        ("WatchParty uncached, 1 process", lambda: _watchparty(db_url, False, 1, "benchu1")),
        ("WatchParty uncached, 2 processes", lambda: _watchparty(db_url, False, 2, "benchu2")),
    ]
    hit_body = b""
    for label, launch in configs:
        say(label)
        proc, base = launch()
        try:
            results[label] = _measure(base, paths, seconds)
            if label == "WatchParty cached, 1 process":
                hit_body = httpx.get(base + paths["rooms"]).content
                hit_ratio = _hit_ratio(base, paths["rooms"])
        finally:
            stop(proc)
    say("bare ASGI, fixed bytes")
    proc, base = _bare(hit_body)
    try:
        results["bare ASGI (granian), same bytes from memory"] = {"rooms": wrk(base + "/", seconds=seconds)}
    finally:
        stop(proc)
    _report(results, hit_ratio, seconds)


def _hit_ratio(base: str, path: str, n: int = 200) -> str:
    hits = sum(httpx.get(base + path).headers.get("x-cache") == "HIT" for _ in range(n))
    return f"{hits}/{n} requests after the first were HITs ({hits / n:.1%})"


def _report(results: dict[str, dict[str, WrkResult]], hit_ratio: str, seconds: int) -> None:
    peer_cached = {
        k: max(results["peer cached, LOG_CACHE=1"][k], results["peer cached, LOG_CACHE=0"][k], key=lambda r: r.rps)
        for k in ("rooms", "chat")
    }
    lines = [
        f"`wrk -t2 -c50 -d{seconds}s --latency` on loopback, one run; the peer's seed data in PostgreSQL for both.",
        "WatchParty: production settings (`ENVIRONMENT=production`, all middleware, JSON logs at INFO).",
        "",
        "| configuration | rooms req/s | p50 ms | p99 ms | chat req/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, per in results.items():
        rooms, chat = per.get("rooms"), per.get("chat")
        lines.append(f"| {label} | {rooms.row() if rooms else '–'} | {chat.row() if chat else '– | – | –'} |")
    bare = results["bare ASGI (granian), same bytes from memory"]["rooms"]
    ratios = []
    for endpoint in ("rooms", "chat"):
        wp1 = results["WatchParty cached, 1 process"][endpoint]
        wp2 = results["WatchParty cached, 2 processes"][endpoint]
        unc = results["WatchParty uncached, 1 process"][endpoint]
        unc2 = results["WatchParty uncached, 2 processes"][endpoint]
        peer_unc = results["peer uncached"][endpoint]
        ratios += [
            f"- `{endpoint}` cached: WatchParty {wp1.rps / peer_cached[endpoint].rps:.1f}× the faster peer "
            f"(2 processes: {wp2.rps / peer_cached[endpoint].rps:.1f}×); p99 {wp1.p99_ms:.1f} ms against the "
            f"peer's {peer_cached[endpoint].p99_ms:.1f} ms.",
            f"- `{endpoint}` uncached: WatchParty {unc.rps / peer_unc.rps:.1f}× the peer uncached "
            f"(2 processes: {unc2.rps / peer_unc.rps:.1f}×).",
        ]
    ratios.append(
        f"- Hit path against bare ASGI serving the same bytes: "
        f"{results['WatchParty cached, 1 process']['rooms'].rps / bare.rps:.2f}×."
    )
    ratios.append(f"- Hit ratio, `GET /api/rooms`: {hit_ratio}.")
    ratios.append(
        "- The machine has 2 cores, shared by wrk, Redis, PostgreSQL and the API processes: a second API process "
        "helps where the database waits (uncached), not where one process already keeps both cores busy (cached)."
    )
    write_section("cache", "Cached and uncached reads against the Express peer", [*lines, "", *ratios])
