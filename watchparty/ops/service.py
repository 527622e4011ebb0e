"""Queue statistics, job state for its owner, and the on-demand cleanup and report jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.jobs import outbox
from watchparty.jobs.queues import CLEANUP, HIGH_PRIORITY, JobView, Queues, outbox_job_id, parse_job_id
from watchparty.models import User, UserRole
from watchparty.ops import repository
from watchparty.ops.errors import JobNotFound
from watchparty.ops.schemas import Dashboard, JobRead, QueueCounts, QueueStats, ReportRead


async def stats(queues: Queues) -> QueueStats:
    counts = await queues.counts()
    return QueueStats(
        email=QueueCounts(queue_name="email", **counts["email"]),
        image_processing=QueueCounts(queue_name="imageProcessing", **counts["imageProcessing"]),
        room_cleanup=QueueCounts(queue_name="roomCleanup", **counts["roomCleanup"]),
        media_check=QueueCounts(queue_name="mediaCheck", **counts["mediaCheck"]),
        transcode=QueueCounts(queue_name="transcode", **counts["transcode"]),
    )


async def dashboard(queues: Queues, limit: int) -> Dashboard:
    return Dashboard(stats=await stats(queues), failed=[_read(v) for v in await queues.failed(limit)])


async def get_job(session: AsyncSession, queues: Queues, user: User, public_id: str) -> JobRead:
    """A job's state and result, for its owner or an admin; 404 for everyone else, as for a missing job."""
    parsed = parse_job_id(public_id)
    if parsed is None:
        raise JobNotFound()
    queue, job_id = parsed
    # The outbox first: the relay adds a job to Redis and then commits, so a row still unsent here is pending,
    # and a row marked sent is already in Redis (asking Redis first would leave a gap between the two).
    row = await outbox.get(session, outbox.outbox_id_of(job_id) or 0)
    if row is not None and outbox_job_id(row.id, row.nonce) == job_id and row.queue == queue:
        if user.role != UserRole.ADMIN and row.owner_id != user.id:
            raise JobNotFound()
        if row.sent_at is None:
            return JobRead(id=public_id, queue=queue, name=row.name, state="pending", created_at=row.created_at)
    view = await queues.get(queue, job_id)
    if view is None or (user.role != UserRole.ADMIN and view.owner_id != user.id):
        raise JobNotFound()
    return _read(view)


async def retry(queues: Queues, public_id: str) -> JobRead:
    parsed = parse_job_id(public_id)
    if parsed is None or not await queues.retry(*parsed):
        raise JobNotFound("No failed job with this id")
    view = await queues.get(*parsed)
    if view is None:
        raise JobNotFound()
    return _read(view)


async def request_cleanup(session: AsyncSession, user: User, days_inactive: int) -> str:
    data = {"daysInactive": days_inactive, "requestedBy": user.id, "ownerId": user.id}
    return await outbox.enqueue(session, CLEANUP, "cleanup", data, priority=HIGH_PRIORITY, owner_id=user.id)


async def request_report(session: AsyncSession, user: User) -> str:
    data = {"requestedBy": user.id, "ownerId": user.id}
    return await outbox.enqueue(session, CLEANUP, "report", data, priority=HIGH_PRIORITY, owner_id=user.id)


async def reports(session: AsyncSession, limit: int) -> list[ReportRead]:
    return [ReportRead.model_validate(r, from_attributes=True) for r in await repository.list_reports(session, limit)]


def _read(view: JobView) -> JobRead:
    return JobRead(
        id=view.id,
        queue=view.queue,
        name=view.name,
        state=view.state,
        attempts_made=view.attempts_made,
        failed_reason=view.failed_reason,
        progress=view.progress,
        result=view.result,
        created_at=_ms(view.timestamp),
        finished_at=_ms(view.finished_on),
    )


def _ms(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None
