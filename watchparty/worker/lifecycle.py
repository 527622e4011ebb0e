"""Starting and stopping the job machinery, shared by the API's lifespan and `watchparty worker`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from watchparty.core.deps import Services
from watchparty.jobs.outbox import Relay
from watchparty.jobs.queues import Queues
from watchparty.worker.runner import JobRunner

log = logging.getLogger("watchparty.worker")


@dataclass
class Jobs:
    queues: Queues | None
    relay: Relay | None
    runner: JobRunner | None


@asynccontextmanager
async def running_jobs(services: Services, *, worker: bool) -> AsyncIterator[Jobs]:
    """The relay always runs (in every API and worker process); the workers only where asked for."""
    settings = services.settings
    if settings.effective_redis_url is None:
        log.warning("no Redis configured: jobs wait in the outbox until one is")
        yield Jobs(None, None, None)
        return
    queues = Queues(settings)
    relay = Relay(settings, services.db, queues)
    runner = JobRunner(services, queues) if worker else None
    relay.start()
    for problem in await queues.durability():
        log.warning("Redis for the queues: %s", problem)
    try:
        if runner is not None:
            await runner.start()
        yield Jobs(queues, relay, runner)
    finally:
        if runner is not None:
            await runner.close()
        await relay.stop()
        await queues.close()
