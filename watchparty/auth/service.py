"""Registration, login, token rotation and password reset."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.auth import repository
from watchparty.auth.errors import (
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidResetToken,
    RefreshTokenReused,
    WrongPassword,
)
from watchparty.auth.schemas import AuthResult, GuestIn, LoginIn, RegisterIn, ResetPasswordIn, TokenPair
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.core.errors import ValidationFailed
from watchparty.core.realtime import end_live_sessions
from watchparty.core.security import TokenCaller, hash_token, new_opaque_token
from watchparty.jobs.queues import HIGH_PRIORITY
from watchparty.mail import service as mail_service
from watchparty.mail import templates
from watchparty.models import PasswordResetToken, RefreshToken, User
from watchparty.users import passwords
from watchparty.users import service as users_service
from watchparty.users.schemas import PasswordChange


def check_password_of(password: str, *, username: str | None, email: str | None, field: str) -> None:
    """The policy's rules that need the account (users/passwords.py), as the same 422 a schema rule gives."""
    found = passwords.problem_with(password, username=username, email=email)
    if found is not None:
        raise ValidationFailed(details=[{"field": field, "message": found}])


async def register_user(
    session: AsyncSession, services: Services, data: RegisterIn, guest: User | None = None, *, ip: str | None = None
) -> AuthResult:
    """Create an account, queue the welcome email, and sign the user in. A guest who signs up keeps their identity:
    the guest becomes the account, with its messages and memberships (ADR 0016). A limited number per address:
    each costs an argon2 hash."""
    if ip is not None:
        await services.limiter.hit(services.settings.rate_limit_register_ip, "register-ip", ip)
    check_password_of(data.password, username=data.username, email=str(data.email), field="password")
    password_hash = await services.hasher.hash(data.password)
    if guest is not None and guest.is_guest:
        user = await users_service.upgrade_guest(
            session, guest, email=str(data.email), username=data.username, password_hash=password_hash
        )
    else:
        user = await users_service.create_user(
            session, email=str(data.email), username=data.username, password_hash=password_hash
        )
    assert user.email is not None
    user.language = data.language
    welcome = templates.welcome(user.username, services.settings.base_url)
    await mail_service.send(session, services.settings, user.email, welcome, language=user.language)
    return await _sign_in(session, services, user)


async def join_as_guest(session: AsyncSession, services: Services, data: GuestIn, ip: str) -> AuthResult:
    """A guest identity, with only a name, signed in like any account (ADR 0016); a limited number per address."""
    await services.limiter.hit(services.settings.rate_limit_guest_ip, "guest-ip", ip)
    device = hash_token(data.device_token) if data.device_token else None
    user = await users_service.create_guest(session, data.display_name, device_hash=device, address=ip)
    return await _sign_in(session, services, user)


async def login_user(
    session: AsyncSession, services: Services, data: LoginIn, ip: str, guest: User | None = None
) -> AuthResult:
    """Check credentials; unknown email and wrong password look the same, in words and in time. A guest who signs
    in brings what they did as a guest to the account, and the guest identity ends."""
    settings = services.settings
    await services.limiter.hit(settings.rate_limit_login_ip, "login-ip", ip)
    await services.limiter.hit(settings.rate_limit_login, "login-account-ip", f"{data.email.lower()}:{ip}")
    await services.limiter.hit(settings.rate_limit_login_account, "login-account", data.email.lower())
    user = await users_service.get_user_by_email(session, data.email)
    if not await services.hasher.verify(data.password, user.password_hash if user else None) or user is None:
        raise InvalidCredentials()
    user.last_login_at = utcnow()
    if guest is not None and guest.is_guest and guest.id != user.id:
        await users_service.merge_guest(session, guest, user)
        end_live_sessions(session, guest.id)
    return await _sign_in(session, services, user)


async def refresh_tokens(session: AsyncSession, services: Services, token: str) -> TokenPair:
    """Rotate a refresh token. Presenting an already-rotated token revokes its whole family."""
    now = utcnow()
    row = await repository.get_refresh_token_by_hash(session, hash_token(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise InvalidRefreshToken()
    if row.used_at is not None:
        await repository.revoke_family(session, row.family_id, now)
        raise RefreshTokenReused()
    user = await users_service.get_user(session, row.user_id)
    if user is None:
        raise InvalidRefreshToken()
    row.used_at = now
    if user.is_guest:  # a guest is "seen" while their session lives (the cleanup job removes the unseen)
        user.last_login_at = now
    return await _issue_pair(session, services, user, family_id=row.family_id)


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the refresh token's family. Unknown tokens are ignored, so logout is idempotent."""
    row = await repository.get_refresh_token_by_hash(session, hash_token(token))
    if row is not None:
        await repository.revoke_family(session, row.family_id, utcnow())


async def logout_everywhere(session: AsyncSession, user: User) -> None:
    """Invalidate every access and refresh token the user holds."""
    user.token_version += 1
    await repository.revoke_user_tokens(session, user.id, utcnow())
    end_live_sessions(session, user.id)  # open sockets outlive access tokens, but not this


async def change_password(session: AsyncSession, services: Services, user: User, data: PasswordChange) -> TokenPair:
    """Change the password, sign out every other session, and return fresh tokens for this one."""
    if not await services.hasher.verify(data.current_password, user.password_hash):
        raise WrongPassword()
    check_password_of(data.new_password, username=user.username, email=user.email, field="newPassword")
    user.password_hash = await services.hasher.hash(data.new_password)
    await logout_everywhere(session, user)
    return await _issue_pair(session, services, user)


async def request_password_reset(session: AsyncSession, services: Services, email: str, ip: str) -> None:
    """Queue a reset email if the account exists; the answer is the same either way."""
    settings = services.settings
    await services.limiter.hit(settings.rate_limit_forgot_ip, "forgot-ip", ip)
    await services.limiter.hit(settings.rate_limit_forgot, "forgot-account", email.lower())
    user = await users_service.get_user_by_email(session, email)
    if user is None or user.email is None:
        return
    now = utcnow()
    await repository.expire_reset_tokens(session, user.id, now)
    token = new_opaque_token()
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=now + timedelta(minutes=settings.reset_token_minutes),
        )
    )
    await session.flush()
    link = f"{settings.base_url}/reset-password?token={token}"
    message = templates.password_reset(user.username, link, settings.reset_token_minutes)
    await mail_service.send(session, settings, user.email, message, priority=HIGH_PRIORITY, language=user.language)


async def reset_password(session: AsyncSession, services: Services, data: ResetPasswordIn) -> None:
    """Set a new password with a single-use reset token, and sign out every session."""
    now = utcnow()
    row = await repository.get_reset_token_by_hash(session, hash_token(data.token))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidResetToken()
    user = await users_service.get_user(session, row.user_id)
    if user is None:
        raise InvalidResetToken()
    check_password_of(data.password, username=user.username, email=user.email, field="password")
    row.used_at = now
    user.password_hash = await services.hasher.hash(data.password)
    await logout_everywhere(session, user)


async def user_for_token(session: AsyncSession, services: Services, token: str) -> User | None:
    """The user an access token speaks for, if it is valid and not revoked."""
    claims = services.tokens.decode_access(token)
    if claims is None:
        return None
    user = await users_service.get_user(session, claims.user_id)
    if user is None or user.token_version != claims.token_version:
        return None
    return user


async def authenticate(services: Services, token: str) -> TokenCaller | None:
    """The caller of a valid, unrevoked token, for the cache's authorisers and loaders, which need its id only: the
    revocation check (the token's version against the user's) is one statement on the hot-read connection, and
    nothing else is read (ADR 0012)."""
    claims = services.tokens.decode_access(token)
    if claims is None:
        return None
    async with services.db.read() as conn:
        valid = await repository.token_is_current(conn, claims.user_id, claims.token_version)
    return TokenCaller(claims.user_id) if valid else None


async def _sign_in(session: AsyncSession, services: Services, user: User) -> AuthResult:
    pair = await _issue_pair(session, services, user)
    return AuthResult(user=users_service.to_read(user), **pair.model_dump())


async def _issue_pair(session: AsyncSession, services: Services, user: User, family_id: str | None = None) -> TokenPair:
    settings = services.settings
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4().hex,
            token_hash=hash_token(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(
        token=services.tokens.issue_access(user.id, user.token_version),
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )
