"""Who is calling: the bearer token checked, and the user (with their role) read from the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from watchparty.auth import service as auth_service
from watchparty.auth.errors import GuestNotAllowed
from watchparty.core.deps import AppServices, DbSession
from watchparty.core.errors import Forbidden, InvalidToken, NotAuthenticated
from watchparty.models import User, UserRole

_bearer = HTTPBearer(auto_error=False, description="The access token from login or register")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_optional_user(credentials: Credentials, services: AppServices, session: DbSession) -> User | None:
    if credentials is None:
        return None
    user = await auth_service.user_for_token(session, services, credentials.credentials)
    if user is None:
        raise InvalidToken()
    return user


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


async def get_account(user: Annotated[User, Depends(get_current_user)]) -> User:
    """A signed-in user with an account: guests are refused (403 `guest_not_allowed`)."""
    if user.is_guest:
        raise GuestNotAllowed()
    return user


async def get_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    if user.role != UserRole.ADMIN:
        raise Forbidden("Administrators only")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AccountUser = Annotated[User, Depends(get_account)]
AdminUser = Annotated[User, Depends(get_admin)]
