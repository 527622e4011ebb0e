"""Password hashing (argon2id, off the event loop), access JWTs, and opaque tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import anyio.to_thread
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from watchparty.config import Settings
from watchparty.core.clock import utcnow

JWT_ALGORITHM = "HS256"  # pinned: decode accepts nothing else, so alg:none and key confusion fail
ACCESS = "access"


class Caller(Protocol):
    """Whom a request speaks for, as far as a read's access rules need to know: a `User`, or the `TokenCaller` the
    cached path makes from a valid token without loading the user."""

    @property
    def id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TokenCaller:
    id: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int
    expires_at: datetime


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        # Verifying against this keeps "unknown email" as slow as "wrong password".
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        target = hashed or self._dummy
        ok = await anyio.to_thread.run_sync(self._verify, password, target)
        return ok and hashed is not None

    def _verify(self, password: str, hashed: str) -> bool:
        try:
            return self._hash.verify(password, hashed)
        except Exception:  # a malformed stored hash verifies nothing
            return False


class TokenCodec:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret.get_secret_value()
        self._ttl = timedelta(minutes=settings.access_token_minutes)

    def issue_access(self, user_id: int, token_version: int, now: datetime | None = None) -> str:
        now = now or utcnow()
        claims = {
            "sub": str(user_id),
            "ver": token_version,
            "type": ACCESS,
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def decode_access(self, token: str) -> AccessClaims | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["exp", "sub", "type", "iat"]},
            )
            if claims.get("type") != ACCESS:
                return None
            user_id = int(claims["sub"])
            version = claims.get("ver")
            if not isinstance(version, int) or user_id <= 0:
                return None
            return AccessClaims(user_id, version, datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo))
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            return None


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Opaque tokens are high-entropy, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
