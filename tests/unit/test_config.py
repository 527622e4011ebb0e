"""Settings: production refuses unsafe values; the original's REDIS_* variables still work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from watchparty.config import Settings

STRONG = "s" * 40


def test_production_refuses_the_default_or_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret="short")


def test_production_refuses_cheap_argon2() -> None:
    with pytest.raises(ValidationError, match="argon2"):
        Settings(environment="production", jwt_secret=STRONG, argon2_time_cost=1, argon2_memory_cost=1024)
    assert Settings(environment="production", jwt_secret=STRONG).argon2_time_cost >= 2


def test_redis_url_from_the_original_variables() -> None:
    s = Settings(environment="test", redis_host="cache.local", redis_port=6380, redis_password="p@ss/word")
    assert s.effective_redis_url == "redis://:p%40ss%2Fword@cache.local:6380/0"
    assert (
        Settings(environment="test", redis_url="redis://x:1/2", redis_host="ignored").effective_redis_url
        == "redis://x:1/2"
    )
    assert Settings(environment="test").effective_redis_url is None


def test_cors_origins_from_a_comma_separated_string() -> None:
    s = Settings(environment="test", cors_origins="https://a.example, https://b.example")
    assert s.cors_origins == ["https://a.example", "https://b.example"]


def test_logs_are_json_in_production() -> None:
    assert Settings(environment="production", jwt_secret=STRONG).json_logs is True
    assert Settings(environment="development", jwt_secret=STRONG).json_logs is False


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # read from the environment, as in production (a kwarg skips the env source's own JSON decoding)
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(environment="test").cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("CORS_ORIGINS", '["https://c.example"]')
    assert Settings(environment="test").cors_origins == ["https://c.example"]


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(metrics_token="short")
    assert Settings(metrics_token="t" * 24).metrics_token is not None
    assert Settings().metrics_token is None  # unset: /api/metrics does not exist
