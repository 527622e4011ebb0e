"""`watchparty worker`: the job workers, the outbox relay and the cleanup schedule, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from watchparty.config import Settings, get_settings
from watchparty.core.deps import Services
from watchparty.core.logging import configure_logging
from watchparty.sync.lifecycle import running_hub
from watchparty.worker.lifecycle import running_jobs

log = logging.getLogger("watchparty.worker")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.concurrency:
        settings = settings.model_copy(update={"worker_concurrency": args.concurrency})
    configure_logging(settings)
    if settings.effective_redis_url is None:
        print("error: `watchparty worker` needs REDIS_URL (or REDIS_HOST); embedded mode runs it inside serve")
        return 2
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - Windows
        pass
    asyncio.run(_main(settings))
    return 0


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    services = Services.build(settings)
    await services.start()
    try:
        # the hub without sockets: the cleanup job's deletions reach the live rooms like any other room flow
        async with running_hub(services, listen=False), running_jobs(services, worker=True):
            print(f"watchparty worker running (concurrency {settings.worker_concurrency} per queue)", flush=True)
            await stop.wait()
            log.info("worker stopping: letting running jobs finish")
    finally:
        await services.close()
