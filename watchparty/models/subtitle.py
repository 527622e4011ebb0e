from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base
from watchparty.models._columns import CreatedAt


class Subtitle(Base):
    """A subtitle track of a movie, kept as the WebVTT we made of the upload (ADR 0018): served from our own
    origin, so CORS never blocks a track. `language` (BCP 47, optional) is how viewers' choices and the room's
    default carry from one movie to the next."""

    __tablename__ = "subtitle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movie.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    vtt: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(16))
    source_encoding: Mapped[str] = mapped_column(String(16))
    cues: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[CreatedAt]
