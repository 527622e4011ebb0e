"""HTTP routes under /api/queues. Everything is for admins, except reading one's own job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from watchparty.auth.deps import AdminUser, CurrentUser
from watchparty.core.deps import DbSession
from watchparty.core.schemas import Envelope, JobAccepted
from watchparty.jobs.deps import AppQueues
from watchparty.ops import service
from watchparty.ops.schemas import CleanupIn, Dashboard, JobRead, QueueStats, ReportRead

router = APIRouter(prefix="/queues", tags=["queues"])

JobId = Annotated[
    str, Path(min_length=3, max_length=200, pattern=r"^[a-z]+-[\w.:-]+$", examples=["email-o12.3fa9c0de"])
]


@router.get("/stats")
async def stats(_admin: AdminUser, queues: AppQueues) -> Envelope[QueueStats]:
    """Jobs per queue and state, in the original's shape. Admins only."""
    return Envelope(data=await service.stats(queues))


@router.get("/dashboard")
async def dashboard(
    _admin: AdminUser, queues: AppQueues, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> Envelope[Dashboard]:
    """Counts and the most recent failed jobs with their reasons, for the dashboard page. Admins only."""
    return Envelope(data=await service.dashboard(queues, limit))


@router.get("/jobs/{job_id}")
async def get_job(job_id: JobId, user: CurrentUser, session: DbSession, queues: AppQueues) -> Envelope[JobRead]:
    """A job's state and result. Its owner (say, of an avatar upload) and admins may read it; others get 404."""
    return Envelope(data=await service.get_job(session, queues, user, job_id))


@router.post("/jobs/{job_id}/retry")
async def retry_job(job_id: JobId, _admin: AdminUser, queues: AppQueues) -> Envelope[JobRead]:
    """Run a failed job again. Admins only."""
    return Envelope(data=await service.retry(queues, job_id))


@router.post("/cleanup", status_code=status.HTTP_202_ACCEPTED)
async def cleanup(data: CleanupIn, admin: AdminUser, session: DbSession) -> Envelope[JobAccepted]:
    """Queue a cleanup now: inactive rooms, old messages, idle participants. Admins only."""
    job_id = await service.request_cleanup(session, admin, data.days_inactive)
    return Envelope(data=JobAccepted(job_id=job_id, status="queued"))


@router.post("/report", status_code=status.HTTP_202_ACCEPTED)
async def report(admin: AdminUser, session: DbSession) -> Envelope[JobAccepted]:
    """Queue an activity report; it is stored, and GET /api/queues/reports reads it back. Admins only."""
    job_id = await service.request_report(session, admin)
    return Envelope(data=JobAccepted(job_id=job_id, status="queued"))


@router.get("/reports")
async def reports(
    _admin: AdminUser, session: DbSession, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> Envelope[list[ReportRead]]:
    """The latest activity and cleanup reports, newest first. Admins only."""
    return Envelope(data=await service.reports(session, limit))
