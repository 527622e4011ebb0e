"""Tokens and password hashing, with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from watchparty.config import Settings
from watchparty.core.security import JWT_ALGORITHM, PasswordHasher, TokenCodec, hash_token, new_opaque_token

SETTINGS = Settings(
    environment="test", jwt_secret="k" * 40, argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1
)


def test_access_token_round_trip_and_expiry() -> None:
    codec = TokenCodec(SETTINGS)
    now = datetime.now(UTC)
    claims = codec.decode_access(codec.issue_access(7, 3, now))
    assert claims is not None
    assert (claims.user_id, claims.token_version) == (7, 3)
    assert timedelta(minutes=14) < claims.expires_at - now <= timedelta(minutes=15)
    stale = codec.issue_access(7, 3, now - timedelta(minutes=16))
    assert codec.decode_access(stale) is None


def test_the_algorithm_is_pinned() -> None:
    codec = TokenCodec(SETTINGS)
    assert JWT_ALGORITHM == "HS256"
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "1", "ver": 0, "type": "access", "iat": now, "exp": now + 60}
    assert codec.decode_access(jwt.encode(claims, "k" * 64, algorithm="HS384")) is None
    assert codec.decode_access(jwt.encode(claims, "k" * 40, algorithm="HS256")) is not None


def test_claims_are_type_checked() -> None:
    codec = TokenCodec(SETTINGS)
    now = int(datetime.now(UTC).timestamp())
    base = {"sub": "1", "ver": 0, "type": "access", "iat": now, "exp": now + 60}
    for bad in ({"sub": "abc"}, {"sub": "-1"}, {"ver": "0"}, {"type": "refresh"}):
        assert codec.decode_access(jwt.encode({**base, **bad}, "k" * 40, algorithm="HS256")) is None


async def test_password_hashing_is_argon2id_and_verifies() -> None:
    hasher = PasswordHasher(SETTINGS)
    hashed = await hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert await hasher.verify("correct horse", hashed)
    assert not await hasher.verify("wrong horse", hashed)
    assert not await hasher.verify("correct horse", None)
    assert not await hasher.verify("correct horse", "not a hash")


def test_opaque_tokens_are_random_and_hashed_stably() -> None:
    a, b = new_opaque_token(), new_opaque_token()
    assert a != b and len(a) >= 43
    assert hash_token(a) == hash_token(a) != hash_token(b)
    assert len(hash_token(a)) == 64
