"""The one Settings object. Nothing else in watchparty reads the environment."""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "change-me-in-production"  # noqa: S105 - a marker that production refuses
VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    # Proxies whose X-Forwarded-For (and -Proto) are believed: addresses or networks, comma-separated, or `*`.
    # Empty: none, and the client is the connection's peer. Behind nginx on this host: 127.0.0.1.
    forwarded_allow_ips: str = ""
    # comma-separated in the environment (a JSON list works too); NoDecode hands the raw text to the validator
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR}/watchparty.db"
    database_pool_size: int = Field(default=10, ge=1)
    database_read_pool_size: int = Field(default=5, ge=1)
    database_echo: bool = False

    # Redis: either REDIS_URL, or the original's REDIS_HOST/REDIS_PORT/REDIS_PASSWORD.
    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_password: SecretStr | None = None

    # The cache keeps its own logical database (or instance), so that flushing it never touches the queues.
    cache_redis_url: str | None = None
    redis_timeout_ms: int = Field(default=50, ge=5, le=5000)
    redis_pool_size: int = Field(default=256, ge=8)
    key_prefix: str = Field(default="wp", pattern=r"^[\w.-]{1,40}$")

    cache_enabled: bool = True
    cache_ttl_rooms: int = Field(default=300, ge=1)
    cache_ttl_room: int = Field(default=300, ge=1)
    cache_ttl_movies: int = Field(default=300, ge=1)
    cache_ttl_movie: int = Field(default=300, ge=1)
    cache_ttl_chat: int = Field(default=60, ge=1)
    cache_ttl_profile: int = Field(default=600, ge=1)
    cache_l1_max_entries: int = Field(default=10_000, ge=0)
    cache_l1_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # The staleness bound: an in-process copy is re-checked against Redis at least this often.
    cache_l1_revalidate_ms: int = Field(default=1000, ge=0, le=60_000)
    cache_breaker_failures: int = Field(default=3, ge=1)
    cache_breaker_open_seconds: float = Field(default=2.0, gt=0)
    # how often each process adds its cache counters to the totals of all processes in Redis
    cache_stats_flush_ms: int = Field(default=2000, ge=50, le=60_000)
    # GET /api/metrics (Prometheus text format) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: 404
    metrics_token: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_secure: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    email_from: str = "WatchParty <noreply@watchparty.local>"
    mail_outbox_dir: Path = VAR_DIR / "outbox"

    # Background jobs (bullmq on the main Redis). The worker runs in `watchparty worker`, or inside the API
    # processes when WORKER_IN_PROCESS is set (embedded mode sets it).
    worker_in_process: bool = False
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    job_attempts: int = Field(default=3, ge=1, le=20)
    job_backoff_ms: int = Field(default=2000, ge=10)
    job_lock_ms: int = Field(default=30_000, ge=500)
    job_stalled_interval_ms: int = Field(default=30_000, ge=500)
    job_keep_completed_seconds: int = Field(default=24 * 3600, ge=1)
    job_keep_completed_count: int = Field(default=1000, ge=1)
    job_keep_failed_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    job_keep_failed_count: int = Field(default=5000, ge=1)
    relay_interval_ms: int = Field(default=1000, ge=10, le=60_000)
    relay_batch: int = Field(default=200, ge=1, le=10_000)
    # The reconciler: how often it looks for sent jobs that have not finished, and how old a sent job must be before
    # it is asked after; one that Redis no longer knows (Redis restarted empty) is sent again.
    relay_reconcile_s: float = Field(default=30, ge=0.1, le=3600)
    relay_reconcile_after_s: float = Field(default=60, ge=0.1, le=86_400)

    # Room cleanup: on this cron schedule (empty: only on demand), and through POST /api/queues/cleanup.
    cleanup_cron: str = "0 3 * * *"
    cleanup_days_inactive: int = Field(default=30, ge=1, le=365)
    cleanup_message_days: int = Field(default=90, ge=1, le=3650)
    # guests not seen (no sign-in, no token refresh) for this long are removed by the cleanup job
    guest_retention_days: int = Field(default=30, ge=1, le=365)
    cleanup_participant_hours: int = Field(default=24, ge=1, le=24 * 365)

    # Avatars: uploads are limited and checked before they are queued; outputs are served from media_dir.
    media_dir: Path = VAR_DIR / "media"
    # Uploads as they arrive, before anything checked or re-encoded them: never under MEDIA_DIR, which is served.
    # Unset: a `staging` folder beside MEDIA_DIR.
    staging_dir: Path | None = None
    avatar_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    avatar_max_pixels: int = Field(default=16_777_216, ge=1)
    # What avatar decodes in one process may take at once (each reserves its measured peak, users/avatar.py:
    # decode_cost); an image whose peak is larger still runs, alone.
    avatar_decode_memory_mb: int = Field(default=512, ge=16, le=65_536)

    # Video uploads (ADR 0021): sent in chunks of at most UPLOAD_CHUNK_BYTES, resumable; a file at most
    # UPLOAD_MAX_BYTES, and each person's uploads together at most UPLOAD_QUOTA_BYTES (the sizes of the files they
    # uploaded that still exist). A transcode job makes HLS of each; TRANSCODE_CONCURRENCY at a time per worker.
    upload_max_bytes: int = Field(default=4 * 1024**3, ge=1024)
    upload_quota_bytes: int = Field(default=20 * 1024**3, ge=1024)
    upload_chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    upload_max_duration_s: int = Field(default=6 * 3600, ge=10)
    upload_stale_hours: int = Field(default=24, ge=1, le=24 * 30)  # an upload not finished by then is removed
    transcode_concurrency: int = Field(default=1, ge=1, le=16)
    transcode_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"

    # The media check (ADR 0017): each URL added to the catalogue is probed by a job before it is offered. It never
    # reaches a private, loopback or link-local address unless allowed (a LAN media server, the tests).
    media_check_allow_private: bool = False
    media_check_timeout_s: float = Field(default=2.5, ge=0.5, le=30)
    # YouTube's IFrame Player API, loaded by the YouTube frame page only (ADR 0019). The tests point it at a local
    # stand-in of the documented API (there is no internet in CI).
    youtube_api_url: str = "https://www.youtube.com/iframe_api"

    # Realtime sync (sent to clients in `welcome.params`; see docs/protocol.md)
    sync_lead_ms: int = Field(default=300, ge=50, le=5000)
    sync_wait_timeout_ms: int = Field(default=10_000, ge=500, le=120_000)

    # Tests only: a worker that finds this file at a crash point deletes it and SIGKILLs itself.
    debug_crash_file: Path | None = None

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    access_token_minutes: int = Field(default=15, ge=1, le=120)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    reset_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    invite_token_days: int = Field(default=7, ge=1, le=90)

    # argon2id parameters; the defaults are the library's recommended ones.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # rate limits, in the `limits` library's notation
    rate_limit_login: str = "10/minute"  # per account and address: a guesser elsewhere cannot lock the owner out
    rate_limit_login_account: str = "100/hour"  # per account from every address: slows a spread-out guesser
    rate_limit_login_ip: str = "50/minute"
    rate_limit_forgot: str = "5/hour"
    rate_limit_forgot_ip: str = "20/hour"
    rate_limit_invite: str = "20/hour"
    rate_limit_guest_ip: str = "20/hour"  # new guest identities per address
    rate_limit_register_ip: str = "10/hour"  # new accounts per address (each costs an argon2 hash)
    # room-password attempts (each an argon2 verification): per room and address, and per room from everyone
    rate_limit_room_password: str = "10/minute"  # noqa: S105 - a rate, not a password
    rate_limit_room_password_room: str = "60/minute"  # noqa: S105 - a rate, not a password
    # where rate-limit counters live; unset: the main Redis when there is one (shared by every process), else memory
    rate_limit_storage: str | None = None

    rooms_active_days: int = Field(default=30, ge=1, le=3650)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Read by `watchparty create-admin` only, so that the password never sits in shell history.
    watchparty_admin_password: SecretStr | None = None

    log_level: str = "INFO"
    log_format: Literal["auto", "text", "json"] = "auto"
    log_dir: Path | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        # in every environment: a scraper's token is a password that never changes, and anyone may try it
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("METRICS_TOKEN must be at least 24 random characters")
        return value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.environment == "production" and self.debug_crash_file is not None:
            raise ValueError("DEBUG_CRASH_FILE is a test hook and is refused in production")
        if self.environment != "production":
            if self.environment == "development" and self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET:
                self.jwt_secret = SecretStr(_local_secret(VAR_DIR / "secret.key"))
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret == DEFAULT_JWT_SECRET or len(secret) < 32:
            raise ValueError("JWT_SECRET must be set to at least 32 random characters in production")
        if self.argon2_time_cost < 2 or self.argon2_memory_cost < 19456:
            raise ValueError("argon2 parameters below OWASP's minimum are refused in production")
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_rate_limit_storage(self) -> str:
        return self.rate_limit_storage or self.effective_redis_url or "memory://"

    @property
    def upload_staging_dir(self) -> Path:
        return self.staging_dir or self.media_dir.parent / "staging"

    @property
    def effective_redis_url(self) -> str | None:
        """REDIS_URL wins; otherwise one is built from the original's REDIS_HOST/PORT/PASSWORD."""
        if self.redis_url:
            return self.redis_url
        if self.redis_host:
            auth = ""
            if self.redis_password and self.redis_password.get_secret_value():
                auth = f":{quote(self.redis_password.get_secret_value(), safe='')}@"
            return f"redis://{auth}{self.redis_host}:{self.redis_port}/0"
        return None

    @property
    def effective_cache_redis_url(self) -> str | None:
        """CACHE_REDIS_URL, else the main Redis with logical database 1."""
        if self.cache_redis_url:
            return self.cache_redis_url
        base = self.effective_redis_url
        return with_db(base, 1) if base else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def json_logs(self) -> bool:
        if self.log_format == "auto":
            return self.environment == "production"
        return self.log_format == "json"


def with_db(url: str, db: int) -> str:
    """The same Redis URL pointing at another logical database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _local_secret(path: Path) -> str:
    """Development only: a random signing key made once per checkout, so tokens survive restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: concurrent starters agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
