from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base
from watchparty.models._columns import CreatedAt


class PlaylistItem(Base):
    """One entry of a room's playlist: a catalogue movie, who added it and when, and its place in the list
    (`position`, 0-based and gap-free: the order everyone sees, in vote mode too; ADR 0015)."""

    __tablename__ = "playlist_item"
    __table_args__ = (Index("ix_playlist_item_room_position", "room_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    movie_id: Mapped[int] = mapped_column(ForeignKey("movie.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]


class PlaylistVote(Base):
    """A member's up-vote on an item (vote mode orders the items still to come by these)."""

    __tablename__ = "playlist_vote"
    __table_args__ = (Index("ix_playlist_vote_user_id", "user_id"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("playlist_item.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[CreatedAt]
