"""All SQL about access, refresh and reset tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from watchparty.models import PasswordResetToken, RefreshToken, User

# Built once: the revocation check of an access token (its version against the user's), by primary key
_CURRENT = select(User.id).where(
    User.id == bindparam("user_id", type_=Integer), User.token_version == bindparam("version", type_=Integer)
)


async def token_is_current(conn: AsyncConnection, user_id: int, version: int) -> bool:
    return (await conn.execute(_CURRENT, {"user_id": user_id, "version": version})).first() is not None


async def get_refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(stmt)


async def revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def get_reset_token_by_hash(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    stmt = select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash).with_for_update()
    return await session.scalar(stmt)


async def expire_reset_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
