from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.clock import utcnow
from watchparty.core.db import Base, UTCDateTime


class MemberRole(enum.StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    MEMBER = "member"
    GUEST = "guest"  # a guest account's role: below member (ADR 0016)


class RoomMember(Base):
    __tablename__ = "room_member"
    __table_args__ = (Index("ix_room_member_user_id", "user_id"),)

    # (room_id, user_id) is the primary key, so counting a room's members reads the index only.
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[MemberRole] = mapped_column(
        Enum(
            MemberRole, name="member_role", native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]
        ),
        default=MemberRole.MEMBER,
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
