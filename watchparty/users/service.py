"""Use cases on user accounts."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.cache import invalidate
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.errors import NotFound, PayloadTooLarge
from watchparty.core.responses import encode_json
from watchparty.jobs import outbox
from watchparty.jobs.queues import IMAGE
from watchparty.models import User, UserRole
from watchparty.users import avatar, repository
from watchparty.users.errors import EmailTaken, InvalidImage, UnsupportedImage, UsernameTaken
from watchparty.users.schemas import ProfileUpdate, UserPublic, UserRead


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await repository.get_user(session, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await repository.get_user_by_email(session, email)


async def create_user(
    session: AsyncSession, *, email: str, username: str, password_hash: str, role: UserRole = UserRole.USER
) -> User:
    if await repository.get_user_by_email(session, email):
        raise EmailTaken()
    if await repository.get_user_by_username(session, username):
        raise UsernameTaken()
    user = User(email=email.lower(), username=username, password_hash=password_hash, role=role)
    session.add(user)
    await _flush_unique(session)
    return user


async def create_guest(session: AsyncSession, name: str, *, device_hash: str | None, address: str) -> User:
    """A guest identity: a name (made unique with a number when someone has it), no email, no password."""
    username = name
    for _ in range(20):
        if await repository.get_user_by_username(session, username) is None:
            break
        username = f"{name[:27]}-{secrets.randbelow(10_000):04d}"
    else:
        raise UsernameTaken("That name is taken; try another")
    user = User(
        email=None,
        username=username,
        password_hash=None,
        is_guest=True,
        device_hash=device_hash,
        guest_address=address,
        last_login_at=utcnow(),
    )
    session.add(user)
    await _flush_unique(session)
    return user


async def upgrade_guest(session: AsyncSession, guest: User, *, email: str, username: str, password_hash: str) -> User:
    """The guest signs up: the same identity (its messages and memberships stay) becomes an account, and a member
    wherever it was a guest."""
    if await repository.get_user_by_email(session, email):
        raise EmailTaken()
    existing = await repository.get_user_by_username(session, username)
    if existing is not None and existing.id != guest.id:
        raise UsernameTaken()
    guest.email, guest.username, guest.password_hash, guest.is_guest = email.lower(), username, password_hash, False
    guest.device_hash = guest.guest_address = None
    await _flush_unique(session)
    rooms = await repository.upgrade_guest_roles(session, guest.id)
    invalidate(session, f"user:{guest.id}", "people", "rooms", *(f"room:{r}" for r in rooms))
    return guest


async def merge_guest(session: AsyncSession, guest: User, account: User) -> list[int]:
    """The guest signs in to an existing account: what the guest did moves to it, and the guest is gone."""
    rooms = await repository.merge_guest(session, guest.id, account.id)
    invalidate(session, f"user:{guest.id}", "people", "rooms", *(f"room:{r}" for r in rooms))
    return rooms


async def remove_stale_guests(session: AsyncSession, before: datetime) -> tuple[int, list[int]]:
    """The cleanup job's guest removal: guests not seen since `before` go with their memberships; their messages
    keep their name. Returns how many, and the rooms they were in."""
    stale = await repository.stale_guests(session, before)
    rooms = await repository.delete_users(session, [user_id for user_id, _ in stale])
    invalidate(session, "people", "rooms", *(f"room:{r}" for r in rooms), *(f"chat:{r}" for r in rooms))
    return len(stale), rooms


async def update_profile(session: AsyncSession, user: User, data: ProfileUpdate) -> User:
    if data.username is not None and data.username != user.username:
        existing = await repository.get_user_by_username(session, data.username)
        if existing is not None and existing.id != user.id:
            raise UsernameTaken()
        user.username = data.username
        invalidate(session, f"user:{user.id}", "people")  # usernames show in rooms and chat
    if data.language is not None:
        user.language = data.language
    await _flush_unique(session)
    return user


async def set_role(session: AsyncSession, user_id: int, role: UserRole) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user")
    user.role = role
    await session.flush()
    invalidate(session, f"user:{user.id}")
    return user


async def _flush_unique(session: AsyncSession) -> None:
    # Two concurrent registrations can both pass the checks above; the unique index decides.
    try:
        await session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "email" in text:
            raise EmailTaken() from exc
        raise UsernameTaken() from exc


AVATAR_KEYS = ("thumbnail", "medium", "thumbnailWebp", "mediumWebp")


async def accept_avatar(session: AsyncSession, settings: Settings, user: User, data: bytes) -> str:
    """Check an upload by its content, stage it, and queue the image job in this transaction."""
    if len(data) > settings.avatar_max_bytes:
        raise PayloadTooLarge.over(settings.avatar_max_bytes, "The image", "profilePicture")
    try:
        await anyio.to_thread.run_sync(avatar.inspect, data, settings.avatar_max_pixels)
    except avatar.ImageRejected as exc:
        if exc.kind == "unsupported":
            raise UnsupportedImage(str(exc)) from exc
        raise InvalidImage(str(exc)) from exc
    token = secrets.token_hex(8)  # names every file of this avatar; the client's filename is never used
    await anyio.to_thread.run_sync(write_atomic, upload_path(settings, token), data)
    job = {"ownerId": user.id, "userId": user.id, "token": token, "seq": time.time_ns()}
    return await outbox.enqueue(session, IMAGE, "avatar", job, owner_id=user.id)


def upload_path(settings: Settings, token: str) -> Path:
    return settings.upload_staging_dir / f"{token}.upload"


def avatar_files(settings: Settings, user_id: int, token: str) -> dict[str, Path]:
    """Where an avatar's four outputs live, by output name (thumbnail.jpg, ...)."""
    folder = settings.media_dir / "avatars"
    return {name: folder / f"{user_id}-{token}-{name}" for name in avatar.output_names()}


def avatar_urls(user_id: int, token: str, seq: int) -> dict[str, Any]:
    base = f"/media/avatars/{user_id}-{token}"
    return {
        "thumbnail": f"{base}-thumbnail.jpg",
        "medium": f"{base}-medium.jpg",
        "thumbnailWebp": f"{base}-thumbnail.webp",
        "mediumWebp": f"{base}-medium.webp",
        "token": token,
        "seq": seq,
    }


async def set_avatar(session: AsyncSession, user_id: int, token: str, seq: int) -> tuple[bool, str | None]:
    """Point the user at a processed avatar unless a newer upload already won. Returns (applied, token of
    the avatar it replaced, or of this one if it lost), so that the caller deletes the right files."""
    user = await repository.get_user_for_update(session, user_id)
    if user is None:
        return False, token
    current = user.avatar_urls or {}
    if current.get("token") == token:
        return True, None  # a re-run after a crash: already applied
    if int(current.get("seq", 0)) > seq:
        return False, token  # a newer upload is the avatar; this one's files go
    user.avatar_urls = avatar_urls(user_id, token, seq)
    await session.flush()
    invalidate(session, f"user:{user_id}", "people")  # avatars show in rooms and chat too
    return True, current.get("token")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.rename(path)


_PROFILE_FIELDS = ("id", "email", "username", "is_guest", "role", "language", "avatar_urls", "created_at", "updated_at")


def to_read(user: User) -> UserRead:
    return UserRead.model_validate(profile_json({name: getattr(user, name) for name in _PROFILE_FIELDS}))


def profile_json(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """UserRead's wire form from a user's columns (a profile row, or a loaded User's attributes): the one place that
    maps them."""
    avatars = {k: v for k, v in (row["avatar_urls"] or {}).items() if k in AVATAR_KEYS} or None
    return {
        "id": row["id"],
        "email": row["email"],
        "username": row["username"],
        "isGuest": bool(row["is_guest"]),
        "role": UserRole(row["role"]).value,
        "language": row["language"] or "en",
        "avatarUrls": avatars,
        "profilePicture": (avatars or {}).get("medium"),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


async def profile_body(services: Services, user_id: int) -> bytes | None:
    """A user's own profile as `Envelope[UserRead]`, encoded: a hot read (ADR 0012), for a caller the cache layer has
    already checked the token of."""
    async with services.db.read() as conn:
        row = await repository.profile_row(conn, user_id)
    return None if row is None else encode_json({"success": True, "data": profile_json(row)})


def to_public(user_id: int, username: str, urls: dict[str, Any] | None) -> UserPublic:
    return UserPublic.model_validate(public_json(user_id, username, urls))


def public_json(user_id: int, username: str, urls: dict[str, Any] | None) -> dict[str, Any]:
    """UserPublic's wire form, for reads that encode rows directly (ADR 0012)."""
    return {"id": user_id, "username": username, "avatarUrl": (urls or {}).get("thumbnail")}
