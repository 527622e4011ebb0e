"""The transactional outbox: jobs are rows written with the change that asks for them, and a relay moves
them to bullmq after commit. A job is never lost between the request and the queue: if Redis is down, or the
process dies after the commit, the row waits and the next relay pass (in any API or worker process) sends it.
Nor after it: the row stays the job's durable copy until the worker marks it done, and the relay's reconciler
sends again a job that Redis lost (a Redis that keeps nothing, restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.clock import utcnow
from watchparty.core.db import Database, after_commit, hooks_of
from watchparty.jobs.hooks import crash_point
from watchparty.jobs.queues import NORMAL_PRIORITY, QUEUES, Queues, QueueUnavailable, outbox_job_id, public_job_id
from watchparty.models import OutboxJob

log = logging.getLogger("watchparty.jobs")


async def enqueue(
    session: AsyncSession,
    queue: str,
    name: str,
    data: dict[str, Any],
    *,
    priority: int = NORMAL_PRIORITY,
    owner_id: int | None = None,
) -> str:
    """Write a job in this transaction and return its public id. It reaches the queue only if this commits."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    row = OutboxJob(nonce=secrets.token_hex(4), queue=queue, name=name, data=data, priority=priority, owner_id=owner_id)
    session.add(row)
    await session.flush()
    wake = hooks_of(session).wake_relay
    if wake is not None:

        async def nudge() -> None:
            wake()

        after_commit(session, nudge)
    return public_job_id(queue, outbox_job_id(row.id, row.nonce))


def outbox_id_of(job_id: str) -> int | None:
    """The outbox row of a bullmq job id (`o{id}.{nonce}`); None for jobs the outbox did not send (schedules)."""
    head = job_id[1:].split(".", 1)[0] if job_id.startswith("o") else ""
    return int(head) if head.isdigit() and len(head) < 19 else None


async def mark_done(db: Database, job_id: str) -> None:
    """The job finished (completed, or failed for good): its row is no longer its durable copy. A failure here only
    means the reconciler asks bullmq later."""
    outbox_id = outbox_id_of(job_id)
    if outbox_id is None:
        return
    try:
        async with db.session() as session:
            await session.execute(
                update(OutboxJob).where(OutboxJob.id == outbox_id, OutboxJob.done_at.is_(None)).values(done_at=utcnow())
            )
    except Exception as exc:
        log.warning("outbox row %s: could not mark its job done (%s); the reconciler will", outbox_id, exc)


async def get(session: AsyncSession, outbox_id: int) -> OutboxJob | None:
    """An outbox row, sent or not (sent rows are kept for a week)."""
    if not 0 < outbox_id < 2**62:
        return None
    return await session.get(OutboxJob, outbox_id)


# The relay's retry delay doubles while the queue (or the database) is down, up to this: after an outage, jobs
# written meanwhile leave within about this long (docs/operations.md, "a second or two"), and a process spends one
# failed connection attempt per this long while it lasts.
MAX_BACKOFF_S = 2.0


def next_backoff(current_s: float) -> float:
    return min(current_s * 2, MAX_BACKOFF_S)


def _stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop. A cancellation can be lost inside a pass: the database
    driver turns it into an error of its own (asyncpg: "connection is closed"), which the pass logs and survives;
    the request stays counted (Task.cancelling), so the loop checks it, or its stop would wait for it for good."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Relay:
    """Moves unsent outbox rows to bullmq. Safe to run in many processes: rows are claimed with
    FOR UPDATE SKIP LOCKED, and bullmq ignores a job id it already holds, so a row sent twice is one job."""

    def __init__(self, settings: Settings, db: Database, queues: Queues) -> None:
        self.settings = settings
        self.db = db
        self.queues = queues
        self.interval = settings.relay_interval_ms / 1000
        self.batch = settings.relay_batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        db.hooks.wake_relay = self.wake

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Send one batch; returns how many rows went out. Raises QueueUnavailable if Redis is down.

        One statement claims the rows and marks them sent; the transaction commits only after bullmq has them,
        so a failure (or a crash) rolls the marks back and the rows wait for the next pass."""
        async with self.db.session() as session:
            unsent = select(OutboxJob.id).where(OutboxJob.sent_at.is_(None)).order_by(OutboxJob.id).limit(self.batch)
            if session.get_bind().dialect.name == "postgresql":
                unsent = unsent.with_for_update(skip_locked=True)  # relays in other processes take other rows
            claim = (
                update(OutboxJob)
                .where(OutboxJob.id.in_(unsent.scalar_subquery()))
                .values(sent_at=utcnow())
                .returning(
                    OutboxJob.id, OutboxJob.nonce, OutboxJob.queue, OutboxJob.name, OutboxJob.data, OutboxJob.priority
                )
                .execution_options(synchronize_session=False)
            )
            rows = sorted((await session.execute(claim)).all(), key=lambda r: r.id)
            if rows:
                crash_point(self.settings, "relay.claimed")  # the kill test: dead after commit, before enqueue
            for row in rows:
                await self.queues.add(
                    row.queue, row.name, row.data, job_id=outbox_job_id(row.id, row.nonce), priority=row.priority
                )
            return len(rows)

    async def reconcile(self) -> dict[str, int]:
        """Sent jobs that have not finished, older than RELAY_RECONCILE_AFTER_S: one that bullmq no longer knows (a
        Redis that restarted empty, or evicted it) is sent again under its own id; one bullmq has finished is
        marked done. Raises QueueUnavailable while Redis is down."""
        before = utcnow() - timedelta(seconds=self.settings.relay_reconcile_after_s)
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(
                        OutboxJob.id,
                        OutboxJob.nonce,
                        OutboxJob.queue,
                        OutboxJob.name,
                        OutboxJob.data,
                        OutboxJob.priority,
                    )
                    .where(OutboxJob.sent_at.is_not(None), OutboxJob.done_at.is_(None), OutboxJob.sent_at < before)
                    .order_by(OutboxJob.id)
                    .limit(self.batch)
                )
            ).all()
        resent, finished = 0, []
        for row in rows:
            job_id = outbox_job_id(row.id, row.nonce)
            state = await self.queues.state(row.queue, job_id)
            if state == "unknown":
                await self.queues.add(row.queue, row.name, row.data, job_id=job_id, priority=row.priority)
                log.warning("job %s was not in Redis (did it restart empty?): sent again from the outbox",
                            public_job_id(row.queue, job_id))  # fmt: skip
                resent += 1
            elif state in ("completed", "failed"):
                finished.append(row.id)
        if finished:
            async with self.db.session() as session:
                await session.execute(update(OutboxJob).where(OutboxJob.id.in_(finished)).values(done_at=utcnow()))
        return {"resent": resent, "finished": len(finished)}

    async def drain(self) -> int:
        total = 0
        while (sent := await self.drain_once()) > 0:
            total += sent
            if sent < self.batch:
                break
        return total

    async def run(self) -> None:
        backoff = self.interval
        next_reconcile = 0.0
        loop = asyncio.get_running_loop()
        while True:
            _stop_if_cancelled()
            self._wake.clear()  # before the pass: a wake-up during it means another pass
            try:
                sent = await self.drain()
                if loop.time() >= next_reconcile:
                    next_reconcile = loop.time() + self.settings.relay_reconcile_s
                    await self.reconcile()
                if self._failing:
                    log.warning("job relay: working again; the jobs that waited are on their way")
                    self._failing = False
                backoff = self.interval
                if sent:
                    log.debug("job relay: %d jobs sent to the queue", sent)
            except QueueUnavailable as exc:
                if not self._failing:
                    log.warning("job relay: the queue is unreachable (%s); jobs wait in the outbox", exc)
                    self._failing = True
                backoff = next_backoff(backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _stop_if_cancelled()
                if not self._failing:  # once per outage, not once per pass
                    log.exception("job relay pass failed; retrying every %.0f s at most", MAX_BACKOFF_S)
                    self._failing = True
                else:
                    log.debug("job relay pass failed again: %s", exc)
                backoff = next_backoff(backoff)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff if self._failing else self.interval):
                    await self._wake.wait()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            while not self._task.done():  # again, if a cancellation was lost on the way (see _stop_if_cancelled)
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1)
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
