"""`watchparty serve` and `watchparty migrate`."""

from __future__ import annotations

import argparse
import os

from watchparty.config import Settings, get_settings
from watchparty.core.migrate import upgrade_to_head


def migrate(_args: argparse.Namespace | None = None) -> int:
    settings = get_settings()
    upgrade_to_head(settings)
    print(f"database is up to date ({_describe_db(settings)})")
    return 0


def run(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    # The API processes read their settings themselves; the command line overrides them through the environment.
    if args.host:
        os.environ["HOST"] = args.host
    if args.port:
        os.environ["PORT"] = str(args.port)
    get_settings.cache_clear()
    settings = get_settings()
    if not args.no_migrate:
        upgrade_to_head(settings)
    print(f"WatchParty is serving at http://{settings.host}:{settings.port}/  (API docs: /docs)", flush=True)
    print(f"database: {_describe_db(settings)}", flush=True)
    Granian(
        "watchparty.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=args.workers,
        log_access=False,
        websockets=True,
    ).serve()
    return 0


def _describe_db(settings: Settings) -> str:
    url = settings.database_url
    if "@" in url:  # never print credentials
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
