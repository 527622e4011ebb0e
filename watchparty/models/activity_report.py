from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt


class ActivityReport(Base):
    """Rooms, messages and users active per period, written by the report job and by every cleanup run."""

    __tablename__ = "activity_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "report" or "cleanup"
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[CreatedAt]
