from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base
from watchparty.models._columns import CreatedAt, UpdatedAt


class Movie(Base):
    __tablename__ = "movie"
    __table_args__ = (Index("ix_movie_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    video_url: Mapped[str] = mapped_column(String(2048))
    poster_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    year: Mapped[int | None] = mapped_column(Integer, default=None)
    genres: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The media check (ADR 0017): "checking" until the job's verdict, then "ready" or "refused"; the verdict's
    # facts (code, words, kind, content type, codecs, ranges, CORS, when) in media_check. A refused movie is
    # never a default, never queued, never set on a room.
    check_status: Mapped[str] = mapped_column(String(16), default="checking", server_default=text("'checking'"))
    media_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
