from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from watchparty.core.schemas import CamelModel, InputModel


class QueueCounts(CamelModel):
    queue_name: str
    waiting: int = Field(description="waiting, prioritized and paused jobs")
    active: int
    completed: int
    failed: int
    delayed: int
    total: int


class QueueStats(CamelModel):
    """The original's shape: one entry per queue."""

    email: QueueCounts
    image_processing: QueueCounts
    room_cleanup: QueueCounts
    media_check: QueueCounts
    transcode: QueueCounts


class JobRead(CamelModel):
    id: str
    queue: str
    name: str
    state: str = Field(description="pending (in the outbox), waiting, prioritized, delayed, active, completed, failed")
    attempts_made: int = 0
    failed_reason: str | None = None
    progress: Any = Field(default=0, description="what a long job reports as it goes (a transcode: 0 to 1)")
    result: Any = None
    created_at: datetime | None = None
    finished_at: datetime | None = None


class Dashboard(CamelModel):
    stats: QueueStats
    failed: list[JobRead]


class CleanupIn(InputModel):
    days_inactive: int = Field(ge=1, le=365, description="remove rooms with no activity for this many days")


class ReportRead(CamelModel):
    id: int
    kind: str
    period_start: datetime
    period_end: datetime
    data: dict[str, Any]
    created_at: datetime
