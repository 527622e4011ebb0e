"""Use cases on user accounts."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.core.errors import NotFound
from watchparty.models import User, UserRole
from watchparty.users import repository
from watchparty.users.errors import EmailTaken, UsernameTaken
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


async def update_profile(session: AsyncSession, user: User, data: ProfileUpdate) -> User:
    if data.username is not None and data.username != user.username:
        existing = await repository.get_user_by_username(session, data.username)
        if existing is not None and existing.id != user.id:
            raise UsernameTaken()
        user.username = data.username
        invalidate(session, f"user:{user.id}", "people")  # usernames show in rooms and chat
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


def to_read(user: User) -> UserRead:
    avatars = user.avatar_urls or None
    return UserRead(
        id=user.id,
        email=user.email,
        username=user.username,
        role=user.role.value,
        avatar_urls=avatars,
        profile_picture=(avatars or {}).get("medium"),
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def to_public(user_id: int, username: str, avatar_urls: dict[str, str] | None) -> UserPublic:
    return UserPublic(id=user_id, username=username, avatar_url=(avatar_urls or {}).get("thumbnail"))
