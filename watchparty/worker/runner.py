"""One JobRunner per process: `watchparty worker`, or inside `watchparty serve` in embedded mode."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bullmq import Job, UnrecoverableError, Worker

from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.jobs.hooks import running_job
from watchparty.jobs.queues import (
    CLEANUP,
    EMAIL,
    IMAGE,
    LOW_PRIORITY,
    MEDIA,
    QUEUES,
    TRANSCODE,
    Queues,
    job_options,
    key_prefix,
    public_job_id,
    redis_for_queues,
)
from watchparty.mail.tasks import send_email
from watchparty.movies import service as movies_service
from watchparty.movies.tasks import check_media, transcode_upload
from watchparty.ops.tasks import run_cleanup, run_report
from watchparty.users.tasks import process_avatar

log = logging.getLogger("watchparty.worker")

Handler = Callable[[Services, dict[str, Any], str], Awaitable[Any]]
CLEANUP_SCHEDULER_ID = "scheduled-cleanup"


async def _email(services: Services, data: dict[str, Any], job_id: str) -> Any:
    return await send_email(services.settings, data, job_id)


async def _ping(_services: Services, _data: dict[str, Any], _job_id: str) -> Any:
    """A job that does nothing: a liveness probe for the workers, and the benchmarks' no-op job."""
    return {"pong": True}


def default_handlers() -> dict[tuple[str, str], Handler]:
    handlers: dict[tuple[str, str], Handler] = {}
    for template in ("welcome", "password_reset", "room_invite"):
        handlers[(EMAIL, template)] = _email
    handlers[(IMAGE, "avatar")] = process_avatar
    handlers[(CLEANUP, "cleanup")] = run_cleanup
    handlers[(CLEANUP, "report")] = run_report
    handlers[(MEDIA, "check")] = check_media
    handlers[(TRANSCODE, "transcode")] = transcode_upload
    for queue in QUEUES:
        handlers[(queue, "ping")] = _ping
    return handlers


class JobRunner:
    """bullmq workers for every queue, dispatching on the job's name to a handler."""

    def __init__(
        self, services: Services, queues: Queues, handlers: dict[tuple[str, str], Handler] | None = None
    ) -> None:
        self.services = services
        self.queues = queues
        self.handlers = handlers if handlers is not None else default_handlers()
        self.workers: list[Worker] = []

    def _processor(self, queue: str) -> Callable[[Job, str], Awaitable[Any]]:
        async def process(job: Job, _token: str) -> Any:
            handler = self.handlers.get((queue, job.name))
            job_id = public_job_id(queue, str(job.id))
            if handler is None:
                raise UnrecoverableError(f"no handler for job {job.name!r} on queue {queue!r}")
            started = time.perf_counter()
            running_job.set(job)  # this task's own context: only this job's handler sees it
            try:
                result = await handler(self.services, dict(job.data or {}), job_id)
            except Exception as exc:
                log.warning("job %s (%s) failed on attempt %d: %s", job_id, job.name, job.attemptsMade + 1, exc)
                raise
            log.info("job %s (%s) done in %.0f ms", job_id, job.name, (time.perf_counter() - started) * 1000)
            return result

        return process

    async def start(self) -> None:
        settings = self.services.settings
        for queue in QUEUES:
            opts: Any = {
                "connection": redis_for_queues(settings, blocking=True),
                "prefix": key_prefix(settings),
                # a transcode takes every core it is given: a few at a time, not worker_concurrency
                "concurrency": settings.transcode_concurrency if queue == TRANSCODE else settings.worker_concurrency,
                "lockDuration": settings.job_lock_ms,
                "stalledInterval": settings.job_stalled_interval_ms,
                "maxStalledCount": 2,
                "drainDelay": 2,
                # after a Redis outage, look for jobs again within a second (bullmq's default waits 15 s)
                "runRetryDelay": 1000,
                "name": f"watchparty-{queue}",
            }
            self.workers.append(Worker(queue, self._processor(queue), opts))
        await self.schedule_cleanup()
        await self.recheck_media()
        log.info("job worker started: queues %s, concurrency %d each", ", ".join(QUEUES), settings.worker_concurrency)

    async def recheck_media(self) -> None:
        """Movies still "checking" from before a restart (a lost job, a movie from before the check) get a check
        now, not only at the next cleanup."""
        try:
            async with self.services.db.session() as session:
                sent = await movies_service.recheck_stale(session, utcnow() - timedelta(minutes=10))
            if sent:
                log.info("media checks sent again: %d", sent)
        except Exception as exc:  # the cleanup job does it again
            log.warning("could not send the pending media checks: %s", exc)

    async def schedule_cleanup(self) -> None:
        settings = self.services.settings
        try:
            q = self.queues[CLEANUP]
            if settings.cleanup_cron:
                opts = {**job_options(settings), "priority": LOW_PRIORITY}
                await asyncio.wait_for(
                    q.upsertJobScheduler(
                        CLEANUP_SCHEDULER_ID, {"pattern": settings.cleanup_cron}, "cleanup", {"scheduled": True}, opts
                    ),
                    timeout=5,
                )
            else:
                await asyncio.wait_for(q.removeJobScheduler(CLEANUP_SCHEDULER_ID), timeout=5)
        except Exception as exc:  # the schedule is set again at the next start; jobs still flow
            log.warning("could not set the cleanup schedule: %s", exc)

    async def close(self, grace: float = 10.0) -> None:
        """Let running jobs finish for `grace` seconds, then cut them short; a job cut short keeps its lock
        until it expires, and then another worker re-runs it (bullmq's stalled-job recovery)."""
        await asyncio.gather(*(_stop(w, grace) for w in self.workers))
        self.workers.clear()


async def _stop(worker: Worker, grace: float) -> None:
    # bullmq's Worker.close() shields its teardown and swallows cancellation, so it is never cancelled here:
    # a close cancelled while its teardown waits would spin forever when the event loop shuts down.
    closing = asyncio.ensure_future(worker.close())
    done, _ = await asyncio.wait({closing}, timeout=grace)
    if not done:
        log.warning("worker %s: jobs still running after %.0f s; cutting them short", worker.name, grace)
        worker.forceClosing = True
        worker.cancelProcessing()
        done, _ = await asyncio.wait({closing}, timeout=5)
    if not done:
        log.error("worker %s did not close", worker.name)
