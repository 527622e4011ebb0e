from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_room_id_id", "room_id", "id"),
        Index("ix_message_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    content: Mapped[str] = mapped_column(Text)
    # The author's name, written only when their account goes (a guest removed by the cleanup job): the message
    # keeps it. While the account exists, the name is the account's.
    author_name: Mapped[str | None] = mapped_column(String(32), default=None)
    video_position: Mapped[float | None] = mapped_column(Float, default=None)  # seconds into the movie
    # the message this one answers (in the same room); null once that one is gone
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"), default=None)
    # deleted by a moderator or its author, or by clearing the chat: hidden from everyone, and restorable from the
    # moderation log (ADR 0016)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[CreatedAt]


class MessageReaction(Base):
    """One person's reaction with one emoji of the fixed set on one message (toggled)."""

    __tablename__ = "message_reaction"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(8), primary_key=True)
    created_at: Mapped[CreatedAt]
