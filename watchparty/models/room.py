from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    literal,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.clock import utcnow
from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt, UpdatedAt


class RoomVisibility(enum.StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Room(Base):
    __tablename__ = "room"
    __table_args__ = (
        # The public listing reads only this partial index, newest activity first.
        Index(
            "ix_room_public_last_activity",
            text("last_activity_at DESC"),
            text("id DESC"),
            postgresql_where=text("visibility = 'public'"),
            sqlite_where=text("visibility = 'public'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    host_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    movie_id: Mapped[int | None] = mapped_column(ForeignKey("movie.id", ondelete="SET NULL"), index=True)
    visibility: Mapped[RoomVisibility] = mapped_column(
        Enum(
            RoomVisibility,
            name="room_visibility",
            native_enum=False,
            length=10,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=RoomVisibility.PUBLIC,
    )
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    capacity: Mapped[int] = mapped_column(Integer, default=50)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Durable room facts that the live room (in Redis) is derived from (ADR 0014): a room setting, and the last
    # playback a command set, anchored in time, so that a lost live room is rebuilt where it was.
    open_control: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    playback_position: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    playback_rate: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1"))
    playback_paused: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    playback_anchor: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The playlist (ADR 0015): the item playing (the room's `movie_id` is that item's movie, set with it in one
    # place, rooms/playlist_flows.py), a version every playlist operation is based on, and the room's rules for it.
    # No foreign key: the room and its items would reference each other; a current item that is gone reads as none.
    current_item_id: Mapped[int | None] = mapped_column(Integer, default=None)
    playlist_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    playlist_mode: Mapped[str] = mapped_column(String(8), default="manual", server_default=text("'manual'"))
    playlist_loop: Mapped[str] = mapped_column(String(4), default="off", server_default=text("'off'"))
    members_add: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    skip_ratio: Mapped[float] = mapped_column(Float, default=0.5, server_default=text("0.5"))
    queue_cap: Mapped[int] = mapped_column(Integer, default=20, server_default=text("20"))
    # Guests may join by link with only a name (ADR 0016): on by default for public and unlisted rooms.
    guests_allowed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("false"))
    # The room's default subtitle language (ADR 0018): a viewer who has chosen nothing sees the track in it, for
    # whichever movie plays; each viewer's own choice stays theirs.
    subtitle_language: Mapped[str | None] = mapped_column(String(16), default=None)
    # Chat rules (ADR 0016): one message per this many seconds per member (0: off; the host and moderators are
    # exempt), and a word filter that blocks or masks.
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    word_filter: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    filter_mode: Mapped[str] = mapped_column(String(5), default="mask", server_default=text("'mask'"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    @hybrid_property
    def open_to_read(self) -> bool:
        """Anyone may read what happens inside (the chat history, the members): a public room without a password.
        A password keeps the inside for those who entered it; the room's card stays listed (docs/protocol.md)."""
        return self.visibility == RoomVisibility.PUBLIC and self.password_hash is None

    @open_to_read.inplace.expression
    @classmethod
    def _open_to_read_expression(cls) -> ColumnElement[bool]:
        # 'public' is written into the SQL, not bound, so that a prepared statement's generic plan can use it
        public = literal(RoomVisibility.PUBLIC.value, literal_execute=True)
        return and_(cls.visibility == public, cls.password_hash.is_(None))
