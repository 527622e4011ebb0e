"""Errors carry their status; one place renders every error into the envelope."""

from __future__ import annotations

from typing import Any, ClassVar


class DependencyUnavailable(Exception):
    """A service a request needs (the database, Redis, the queue) did not answer: 503, never 500. Raise a subclass
    where a call to one fails in a way the libraries' own errors do not say (core/responses.py:is_unavailable)."""


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request could not be processed"
    # Most errors undo the request's writes. A few must keep them (revoking a reused token family).
    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.detail_message)


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "Authentication is required"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "The token is invalid or has expired"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "This conflicts with existing data"


def size_text(size: int) -> str:
    """A byte count as people read it: 5 MiB, 64 KiB, 300 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


class PayloadTooLarge(AppError):
    """Over a size limit: the message says the limit, and `details[0].limit` gives it in bytes."""

    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large"

    @classmethod
    def over(cls, limit: int, what: str = "The request", field: str = "body") -> PayloadTooLarge:
        message = f"{what} is over {size_text(limit)}, the most this accepts."
        return cls(message, details=[{"field": field, "code": cls.code, "message": message, "limit": limit}])


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    message = "The request is not valid"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests. Try again later."

    def __init__(self, retry_after: int) -> None:
        seconds = max(1, retry_after)
        wait = f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} minutes"
        super().__init__(f"Too many requests. Try again in {wait}.", headers={"Retry-After": str(seconds)})


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "A service this request needs is unavailable"

    def __init__(self, message: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
