"""`watchparty serve` and `watchparty migrate`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from watchparty.config import VAR_DIR, Settings, get_settings
from watchparty.core.embedded_redis import EmbeddedRedis, EmbeddedRedisUnavailable
from watchparty.core.migrate import upgrade_to_head

EMBEDDED_URL_FILE = VAR_DIR / "redis" / "url"


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
    embedded: EmbeddedRedis | None = None
    if settings.effective_redis_url is None:
        embedded = EmbeddedRedis(VAR_DIR / "redis")
        try:
            os.environ["REDIS_URL"] = f"{embedded.start()}/0"
        except EmbeddedRedisUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        EMBEDDED_URL_FILE.write_text(os.environ["REDIS_URL"])
        # one command runs everything: the job worker lives in the API process, on the embedded Valkey
        os.environ.setdefault("WORKER_IN_PROCESS", "true")
        get_settings.cache_clear()
        settings = get_settings()
    try:
        if not args.no_migrate:
            upgrade_to_head(settings)
        if embedded is not None:
            asyncio.run(_seed_demo(settings))
        print(f"WatchParty is serving at http://{settings.host}:{settings.port}/  (API docs: /docs)", flush=True)
        print(f"database: {_describe_db(settings)}", flush=True)
        redis_note = " (embedded; stops with this process)" if embedded else ""
        print(f"redis: {_describe_db_url(settings.effective_redis_url or '')}{redis_note}", flush=True)
        print(
            f"job worker: {'in this process' if settings.worker_in_process else 'run `watchparty worker`'}", flush=True
        )
        if not settings.smtp_host:
            print(f"email: no SMTP configured; mail is written to {settings.mail_outbox_dir}/*.eml", flush=True)
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
    finally:
        if embedded is not None:
            embedded.stop()
            EMBEDDED_URL_FILE.unlink(missing_ok=True)
    return 0


async def _seed_demo(settings: Settings) -> None:
    """On embedded defaults the catalogue starts with the shipped sample clip."""
    from watchparty.core.deps import Services
    from watchparty.movies.demo import ensure_demo_movie

    services = Services.build(settings)
    try:
        async with services.db.session() as session:
            movie, added = await ensure_demo_movie(session)
        if added:
            print(f"demo movie: added '{movie.title}' ({movie.video_url})", flush=True)
    finally:
        await services.close()


def use_running_embedded_redis() -> None:
    """For one-off commands (create-admin, migrate): talk to the embedded Redis of a running `serve`, if any,
    so that their writes invalidate its cache."""
    settings = get_settings()
    if settings.effective_redis_url is None and EMBEDDED_URL_FILE.exists():
        os.environ["REDIS_URL"] = EMBEDDED_URL_FILE.read_text().strip()
        get_settings.cache_clear()


def _describe_db(settings: Settings) -> str:
    return _describe_db_url(settings.database_url)


def _describe_db_url(url: str) -> str:
    if "@" in url:  # never print credentials
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
