"""The `watchparty` command: serve, worker, migrate, create-admin, simulate."""

from __future__ import annotations

import argparse
import sys

from watchparty.cli import admin, serve, simulate, worker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="watchparty", description="WatchParty: watch movies together, in sync.")
    commands = parser.add_subparsers(dest="command", required=True)

    p_serve = commands.add_parser("serve", help="migrate the database and serve the API")
    p_serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    p_serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8000)")
    p_serve.add_argument("--workers", type=int, default=1, help="API processes (default 1)")
    p_serve.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    p_serve.set_defaults(func=serve.run)

    p_worker = commands.add_parser("worker", help="run the background job workers (email, images, cleanup)")
    p_worker.add_argument("--concurrency", type=int, help="jobs at once per queue (default: WORKER_CONCURRENCY or 4)")
    p_worker.set_defaults(func=worker.run)

    p_migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest version")
    p_migrate.set_defaults(func=serve.migrate)

    p_admin = commands.add_parser("create-admin", help="create an administrator, or promote an existing user")
    p_admin.add_argument("--email", required=True)
    p_admin.add_argument("--username", help="for a new account (default: from the email)")
    p_admin.set_defaults(func=admin.run)

    p_sim = commands.add_parser("simulate", help="simulated viewers in a new room on a running server; prints skew")
    p_sim.add_argument("--url", action="append", help="a server (repeat for several processes; default :8000)")
    p_sim.add_argument("--viewers", type=int, default=6, help="how many (default 6; each signs up an account)")
    p_sim.add_argument("--latency", default="20-150", help="one-way latency range in ms (default 20-150)")
    p_sim.add_argument("--jitter", type=float, default=30, help="± jitter in ms (default 30)")
    p_sim.add_argument("--offset", type=float, default=2000, help="largest clock offset in ms (default 2000)")
    p_sim.add_argument("--hold", type=float, default=6, help="seconds measured after each change (default 6)")
    p_sim.add_argument("--delay-jitter", type=float, default=0.2, help="start-up delays vary by ± this (default 0.2)")
    p_sim.add_argument("--seed", type=int, default=1)
    p_sim.add_argument("--player", choices=("file", "youtube"), default="file",
                       help="HTML5 players (any rate), or YouTube's (fixed rates, slow to seek)")  # fmt: skip
    p_sim.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    p_sim.add_argument("--playlist", action="store_true", help="instead: a playlist played through; hand-over figures")
    p_sim.add_argument("--items", type=int, default=3, help="with --playlist: how many items (default 3)")
    p_sim.add_argument("--seconds", type=int, default=12, help="with --playlist: each item's length (default 12)")
    p_sim.add_argument("--late", action="store_true", help="with --playlist: one more viewer joins in the second item")
    p_sim.set_defaults(func=simulate.run)

    args = parser.parse_args(argv)
    sys.exit(args.func(args) or 0)
