"""HTTP routes under /api/auth."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile, status

from watchparty.auth import service as auth_service
from watchparty.auth.deps import AccountUser, CurrentUser, OptionalUser
from watchparty.auth.schemas import (
    Accepted,
    AuthResult,
    ForgotPasswordIn,
    GuestIn,
    LoginIn,
    RefreshIn,
    RegisterIn,
    ResetPasswordIn,
    TokenPair,
)
from watchparty.core.deps import AppServices, ClientIp, DbSession
from watchparty.core.schemas import Envelope, ErrorEnvelope, JobAccepted
from watchparty.users import service as users_service
from watchparty.users.schemas import PasswordChange, ProfileUpdate, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(
    data: RegisterIn, session: DbSession, services: AppServices, caller: OptionalUser, ip: ClientIp
) -> Envelope[AuthResult]:
    """Create an account and sign in; a welcome email is queued. Sent with a guest's token, the guest becomes the
    account: the same id, with its messages and memberships (a member wherever it was a guest)."""
    return Envelope(data=await auth_service.register_user(session, services, data, caller, ip=ip))


@router.post("/guest", status_code=status.HTTP_201_CREATED, responses={429: {"model": ErrorEnvelope}})
async def guest(data: GuestIn, session: DbSession, services: AppServices, ip: ClientIp) -> Envelope[AuthResult]:
    """A guest identity with only a name (`user.isGuest`), signed in like any account: it joins rooms that let
    guests in, and may later sign up or sign in and keep what it did. Limited per client address."""
    return Envelope(data=await auth_service.join_as_guest(session, services, data, ip))


@router.post("/login")
async def login(
    data: LoginIn, session: DbSession, services: AppServices, ip: ClientIp, caller: OptionalUser
) -> Envelope[AuthResult]:
    """Sign in with email and password. Sent with a guest's token, what the guest did (messages, memberships,
    playlist items) moves to the account, and the guest identity ends."""
    return Envelope(data=await auth_service.login_user(session, services, data, ip, caller))


@router.post("/refresh")
async def refresh(data: RefreshIn, session: DbSession, services: AppServices) -> Envelope[TokenPair]:
    """Trade a refresh token for a new access token and a new refresh token."""
    return Envelope(data=await auth_service.refresh_tokens(session, services, data.refresh_token))


@router.post("/logout")
async def logout(data: RefreshIn, session: DbSession) -> Envelope[None]:
    """Revoke a refresh token and every token rotated from the same login."""
    await auth_service.logout(session, data.refresh_token)
    return Envelope(data=None)


@router.post("/logout-all")
async def logout_all(user: CurrentUser, session: DbSession) -> Envelope[None]:
    """Sign out every session of this user, access tokens included."""
    await auth_service.logout_everywhere(session, user)
    return Envelope(data=None)


@router.get("/profile")
async def get_profile(user: CurrentUser) -> Envelope[UserRead]:
    """The signed-in user's own profile."""
    return Envelope(data=users_service.to_read(user))


@router.put("/profile")
async def update_profile(data: ProfileUpdate, user: AccountUser, session: DbSession) -> Envelope[UserRead]:
    """Change the signed-in user's own profile."""
    user = await users_service.update_profile(session, user, data)
    return Envelope(data=users_service.to_read(user))


@router.post(
    "/upload-profile-picture",
    status_code=status.HTTP_202_ACCEPTED,
    responses={415: {"model": ErrorEnvelope, "description": "Not a JPEG, PNG or WebP image"}},
)
async def upload_profile_picture(
    profile_picture: Annotated[UploadFile, File(alias="profilePicture", description="JPEG, PNG or WebP, up to 5 MiB")],
    user: AccountUser,
    session: DbSession,
    services: AppServices,
) -> Envelope[JobAccepted]:
    """Upload an avatar. It is checked at once and processed in the background; poll the job, or the profile."""
    data = await profile_picture.read(services.settings.avatar_max_bytes + 1)
    job_id = await users_service.accept_avatar(session, services.settings, user, data)
    return Envelope(data=JobAccepted(job_id=job_id, status="queued"))


@router.post("/change-password")
async def change_password(
    data: PasswordChange, user: AccountUser, session: DbSession, services: AppServices
) -> Envelope[TokenPair]:
    """Change the password; every other session is signed out."""
    return Envelope(data=await auth_service.change_password(session, services, user, data))


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED)
async def forgot_password(
    data: ForgotPasswordIn, session: DbSession, services: AppServices, ip: ClientIp
) -> Envelope[Accepted]:
    """Email a reset link if the account exists. The answer never says whether it does."""
    await auth_service.request_password_reset(session, services, str(data.email), ip)
    return Envelope(data=Accepted(message="If the account exists, a reset link is on its way"))


@router.post("/reset-password")
async def reset_password(data: ResetPasswordIn, session: DbSession, services: AppServices) -> Envelope[None]:
    """Set a new password with the token from the reset email."""
    await auth_service.reset_password(session, services, data)
    return Envelope(data=None)
