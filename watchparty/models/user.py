from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from watchparty.core.db import Base, UTCDateTime
from watchparty.models._columns import CreatedAt, UpdatedAt


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # stored lower-cased; a guest has neither email nor password (ADR 0016)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, name="user_role", native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=UserRole.USER,
    )
    # {"thumbnail": url, "medium": url, "thumbnailWebp": url, "mediumWebp": url}, set by the image job
    avatar_urls: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # A guest: joined a room by link with a name only. A ban of a guest also holds their device token's hash and
    # the address they came from, since a new guest identity is free.
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    device_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    guest_address: Mapped[str | None] = mapped_column(String(45), default=None)
    # the language of this person's emails (mail/templates.LANGUAGES), chosen in the web client
    language: Mapped[str] = mapped_column(String(8), default="en", server_default=text("'en'"))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
