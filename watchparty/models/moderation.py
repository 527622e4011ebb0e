from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt


class RoomSanction(Base):
    """A ban or a mute of one person in one room (ADR 0016). In force while not lifted and not expired
    (`expires_at` None: until lifted); a person has at most one of each kind in force, a new one lifts the old."""

    __tablename__ = "room_sanction"
    __table_args__ = (Index("ix_room_sanction_room_user", "room_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "ban" or "mute"
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # A banned guest's device token hash and address: a new guest identity from either is refused too.
    device_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    address: Mapped[str | None] = mapped_column(String(45), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[CreatedAt]
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ModerationEntry(Base):
    """One moderator action in a room's audit log: who (None: the server itself, e.g. a flood mute), what, whom,
    when, and what it takes to undo it (`details`); `reverted_at` once undone."""

    __tablename__ = "moderation_entry"
    __table_args__ = (Index("ix_moderation_entry_room_id_id", "room_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reverted_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), default=None)
