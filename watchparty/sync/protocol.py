"""The wire format of WS /api/rooms/{id}/ws: JSON text frames with a `type`, protocol version 1.
Client messages are parsed strictly (unknown types and fields are errors); server messages are plain dicts made
here, so that docs/protocol.md and the code describe the same shapes. Times on the wire are server epoch ms."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from watchparty.sync.engine import MAX_POSITION, MAX_RATE, MIN_RATE, Playback, SyncParams, Viewer

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 16 * 1024
MAX_CHAT_CHARS: Final = 2000

# Close codes after accept (before accept, refusals are HTTP statuses).
CLOSE_GOING_AWAY: Final = 1001  # the server is shutting down: reconnect
CLOSE_TOO_BIG: Final = 1009  # a frame over 16 KiB
CLOSE_SESSION_ENDED: Final = 4001  # logged out everywhere, or the account is gone
CLOSE_NOT_MEMBER: Final = 4003  # left or removed from the room, or the room was deleted
CLOSE_FLOOD: Final = 4008  # far over the message rate limits
CLOSE_IDLE: Final = 4009  # no pong within the ping timeout
CLOSE_SLOW: Final = 4010  # the send queue overflowed: the client stopped reading
CLOSE_TOO_MANY: Final = 4029  # too many connections for this user or room


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Hello(_In):
    type: Literal["hello"]
    v: int = VERSION
    last_seq: int | None = Field(default=None, alias="lastSeq", ge=0)


class Ping(_In):
    type: Literal["ping"]
    id: int = Field(ge=0)
    t0: float  # the client's clock, ms


class CommandIn(_In):
    type: Literal["command"]
    action: Literal["play", "pause", "seek", "setRate", "changeMedia"]
    base_version: int = Field(alias="baseVersion", ge=0)
    position: float | None = Field(default=None, ge=0, le=MAX_POSITION)
    rate: float | None = Field(default=None, ge=MIN_RATE, le=MAX_RATE)
    media_id: int | None = Field(default=None, alias="mediaId", ge=1, le=2**31 - 1)


class BufferingIn(_In):
    type: Literal["buffering"]


class ReadyIn(_In):
    type: Literal["ready"]


class Report(_In):
    type: Literal["report"]
    position: float = Field(ge=0, le=MAX_POSITION)
    server_time: float = Field(alias="serverTime", description="the client's estimate of server time, ms")
    rtt: float = Field(ge=0, le=60_000)
    offset: float = Field(ge=-86_400_000, le=86_400_000)
    paused: bool
    buffering: bool = False


class ChatIn(_In):
    type: Literal["chat"]
    content: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)


class SetRoleIn(_In):
    type: Literal["setRole"]
    user_id: int = Field(alias="userId", ge=1)
    role: Literal["moderator", "member"]


class SetOpenControlIn(_In):
    type: Literal["setOpenControl"]
    open: bool


ClientMessage = Annotated[
    Hello | Ping | CommandIn | BufferingIn | ReadyIn | Report | ChatIn | SetRoleIn | SetOpenControlIn,
    Field(discriminator="type"),
]
_client = TypeAdapter(ClientMessage)


class BadMessage(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse(frame: str | bytes) -> ClientMessage:
    """One client frame, strictly: size, JSON, a known type, known fields with sane values."""
    if len(frame) > MAX_FRAME_BYTES:
        raise BadMessage("too_big", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        message: ClientMessage = _client.validate_json(frame)
        return message
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BadMessage("bad_json", "the frame is not JSON") from exc
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            raise BadMessage("unknown_type", "unknown or missing message type") from exc
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise BadMessage("invalid", f"{where}: {first['msg']}") from exc


# ---- server messages ------------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def state(pb: Playback) -> dict[str, Any]:
    return {
        "mediaId": pb.media_id,
        "position": round(pb.position, 6),
        "anchorServerTime": ms(pb.anchor),
        "rate": pb.rate,
        "paused": pb.paused,
        "version": pb.version,
    }


def playback_from_wire(data: dict[str, Any]) -> Playback:
    """The inverse of `state` (for a process reading the room's own events)."""
    return Playback(
        media_id=data["mediaId"],
        position=float(data["position"]),
        anchor=float(data["anchorServerTime"]) / 1000,
        rate=float(data["rate"]),
        paused=bool(data["paused"]),
        version=int(data["version"]),
    )


def params(p: SyncParams) -> dict[str, Any]:
    return {
        "leadMs": p.lead_ms,
        "nudgeFromMs": p.nudge_from_ms,
        "nudgeUntilMs": p.nudge_until_ms,
        "maxNudge": p.max_nudge,
        "seekFromMs": p.seek_from_ms,
        "seekCooldownMs": p.seek_cooldown_ms,
        "waitTimeoutMs": p.wait_timeout_ms,
        "reportIntervalMs": p.report_interval_ms,
    }


def viewer(v: Viewer) -> dict[str, Any]:
    return {"userId": v.user_id, "role": v.role, "buffering": v.buffering}
