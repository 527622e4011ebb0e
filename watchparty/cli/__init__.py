"""The `watchparty` command: serve, worker, migrate, create-admin."""

from __future__ import annotations

import argparse
import sys

from watchparty.cli import admin, serve, worker


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

    args = parser.parse_args(argv)
    sys.exit(args.func(args) or 0)
