"""Time in one place, so that tests can reason about it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    """A moment as the sync protocol's server time: whole milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)
