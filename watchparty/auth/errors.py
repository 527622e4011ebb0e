from watchparty.core.errors import AppError, Forbidden, NotAuthenticated


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    message = "Invalid email or password"


class InvalidRefreshToken(NotAuthenticated):
    code = "invalid_refresh_token"
    message = "The refresh token is invalid, expired or revoked"


class InvalidResetToken(AppError):
    status_code = 400
    code = "invalid_reset_token"
    message = "The reset link is invalid or has expired"


class WrongPassword(AppError):
    status_code = 403
    code = "wrong_password"
    message = "The current password is wrong"


class RefreshTokenReused(InvalidRefreshToken):
    """A rotated-out token came back: the whole family is revoked, and that revocation is kept."""

    keep_changes = True


class GuestNotAllowed(Forbidden):
    code = "guest_not_allowed"
    message = "Guests can watch and chat; sign up to do this"
