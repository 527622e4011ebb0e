from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt


class OutboxJob(Base):
    """A job written in the same transaction as the change that asks for it; the relay moves it to the queue, and
    the row stays its durable copy until the job is done (ADR 0006)."""

    __tablename__ = "outbox_job"
    __table_args__ = (
        # The relay reads only the unsent rows, oldest first.
        Index(
            "ix_outbox_job_unsent",
            "id",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
        # The reconciler reads the sent rows whose job has not finished yet.
        Index(
            "ix_outbox_job_open",
            "id",
            postgresql_where=text("sent_at IS NOT NULL AND done_at IS NULL"),
            sqlite_where=text("sent_at IS NOT NULL AND done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # random, so that a job id never repeats one still kept in Redis from before a database reset
    nonce: Mapped[str] = mapped_column(String(12))
    queue: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # the user the job belongs to, if any: they may read its state
    owner_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[CreatedAt]
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # when its job finished (completed, or failed for good), as the worker saw it: until then the row is the job's
    # durable copy, and the relay's reconciler sends it again if Redis no longer knows it (a Redis that lost its data)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
