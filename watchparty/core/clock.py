"""Time in one place, so that tests can reason about it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime | None) -> str | None:
    """A moment as the API writes it: ISO 8601 in UTC with a Z (None stays None)."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    """A moment as the sync protocol's server time: whole milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)
