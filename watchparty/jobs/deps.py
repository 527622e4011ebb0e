"""The queues as a request dependency: 503 when this process has no Redis for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from watchparty.core.errors import AppError
from watchparty.jobs.queues import Queues


class QueuesUnavailable(AppError):
    status_code = 503
    code = "queue_unavailable"
    message = "The job queue is not reachable right now; try again shortly"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "5"})


async def get_queues(conn: HTTPConnection) -> Queues:
    jobs = getattr(conn.app.state, "jobs", None)
    if jobs is None or jobs.queues is None:
        raise QueuesUnavailable("No Redis is configured for the job queue")
    queues: Queues = jobs.queues
    return queues


AppQueues = Annotated[Queues, Depends(get_queues)]
