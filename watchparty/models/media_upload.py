from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base
from watchparty.models._columns import CreatedAt, UpdatedAt


class MediaUpload(Base):
    """A video file a person uploads in chunks, and its HLS (ADR 0021). This row is the one home of how far the
    upload got (`received`: bytes past it in the staged file are never trusted) and of the transcode's state:
    `receiving` → `processing` → `ready`, or `failed` with a code and a sentence. Its files are named by `token`
    (staged: uploads/video-{token}.part; output: hls/{token}/). `movie_id` is the catalogue entry made when the
    first segments exist; once that entry is gone, the cleanup job removes the files and the row."""

    __tablename__ = "media_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="receiving")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error_code: Mapped[str | None] = mapped_column(String(32), default=None)
    error_message: Mapped[str | None] = mapped_column(String(300), default=None)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)  # the transcode's public job id
    movie_id: Mapped[int | None] = mapped_column(ForeignKey("movie.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
