"""One JobRunner per process: `watchparty worker`, or inside `watchparty serve` in embedded mode."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bullmq import DelayedError, Job, UnrecoverableError, Worker

from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.responses import is_unavailable
from watchparty.jobs import outbox
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
SCHEDULE_REFRESH_S = 60.0


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
        self._schedules: asyncio.Task[None] | None = None

    def _processor(self, queue: str) -> Callable[[Job, str], Awaitable[Any]]:
        async def process(job: Job, token: str) -> Any:
            handler = self.handlers.get((queue, job.name))
            job_id = public_job_id(queue, str(job.id))
            if handler is None:
                raise UnrecoverableError(f"no handler for job {job.name!r} on queue {queue!r}")
            started = time.perf_counter()
            running_job.set(job)  # this task's own context: only this job's handler sees it
            try:
                result = await handler(self.services, dict(job.data or {}), job_id)
            except Exception as exc:
                first_s = self.services.settings.job_backoff_ms / 1000
                if is_unavailable(exc) and await _wait_out_the_outage(job, token, job_id, exc, first_s):
                    raise DelayedError() from None  # bullmq: the job is delayed, not failed, and no attempt spent
                log.warning("job %s (%s) failed on attempt %d: %s", job_id, job.name, job.attemptsMade + 1, exc)
                attempts = int(job.opts.get("attempts", 1) or 1) if isinstance(job.opts, dict) else 1
                if isinstance(exc, UnrecoverableError) or job.attemptsMade + 1 >= attempts:
                    await outbox.mark_done(self.services.db, str(job.id))  # failed for good: nothing to re-send
                raise
            await outbox.mark_done(self.services.db, str(job.id))
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
        # a Redis that restarted empty lost the schedule too: set it again every minute (an upsert: idempotent)
        self._schedules = asyncio.get_running_loop().create_task(self._keep_schedules(), name="job-schedules")
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
                async with asyncio.timeout(5):
                    await q.upsertJobScheduler(
                        CLEANUP_SCHEDULER_ID, {"pattern": settings.cleanup_cron}, "cleanup", {"scheduled": True}, opts
                    )
            else:
                async with asyncio.timeout(5):
                    await q.removeJobScheduler(CLEANUP_SCHEDULER_ID)
        except Exception as exc:  # the schedule is set again at the next start; jobs still flow
            log.warning("could not set the cleanup schedule: %s", exc)

    async def _keep_schedules(self) -> None:
        while True:
            await asyncio.sleep(SCHEDULE_REFRESH_S)
            await self.schedule_cleanup()

    async def close(self, grace: float = 10.0) -> None:
        """Let running jobs finish for `grace` seconds, then cut them short; a job cut short keeps its lock
        until it expires, and then another worker re-runs it (bullmq's stalled-job recovery)."""
        if self._schedules is not None:
            self._schedules.cancel()
            await asyncio.gather(self._schedules, return_exceptions=True)
        await asyncio.gather(*(_stop(w, grace) for w in self.workers))
        self.workers.clear()


# A job that fails because a dependency is down (the database, SMTP's network, Redis) is not at fault: it waits the
# outage out, delayed with a doubling delay (from JOB_BACKOFF_MS) up to OUTAGE_MAX_DELAY_S, spending none of its
# attempts, for up to OUTAGE_GIVE_UP_S. A job that fails on its input spends its attempts (JOB_ATTEMPTS) as before.
OUTAGE_MAX_DELAY_S = 60.0
OUTAGE_GIVE_UP_S = 24 * 3600.0


def outage_delay_s(first_s: float, retries: int) -> float:
    return min(first_s * 2.0**retries, OUTAGE_MAX_DELAY_S)


async def _wait_out_the_outage(job: Job, token: str, job_id: str, exc: Exception, first_s: float) -> bool:
    """Delay the job for the outage's next retry, keeping its attempts; False once it has waited too long (it then
    fails as any job does) or when the queue itself cannot be told (the job's lock lapses, and it runs again)."""
    data = dict(job.data or {})
    now_ms = int(time.time() * 1000)
    since = int(data.get("outageSince") or now_ms)
    retries = int(data.get("outageRetries") or 0)
    if now_ms - since > OUTAGE_GIVE_UP_S * 1000:
        return False
    delay = outage_delay_s(first_s, retries)
    try:
        await job.updateData({**data, "outageSince": since, "outageRetries": retries + 1})
        await job.moveToDelayed(now_ms + int(delay * 1000), token)
    except Exception as queue_exc:
        log.warning("job %s: could not delay it for the outage (%s)", job_id, queue_exc)
        return False
    log.warning("job %s (%s): a dependency is down (%s: %s); retrying in %.1f s, no attempt spent", job_id,
                job.name, type(exc).__name__, exc, delay)  # fmt: skip
    return True


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
