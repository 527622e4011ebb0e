"""The wire format of WS /api/rooms/{id}/ws: JSON text frames with a `type`, protocol version 1.

Client messages are parsed strictly (unknown types and fields are errors). Every server message is defined once,
below (`SERVER_MESSAGES`); the hot paths build them as plain dicts with the builders here, and the tests validate
every frame they receive against the definitions, and docs/protocol.md against the same definitions. Times on
the wire are server epoch ms."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from watchparty.rooms import policy
from watchparty.sync.engine import MAX_POSITION, MAX_RATE, MIN_RATE, Playback, SyncParams, Viewer

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 16 * 1024
MAX_CHAT_CHARS: Final = 2000

# Close codes after accept (before accept, a bad ticket or Origin is an HTTP 403).
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001  # the server is shutting down: reconnect
CLOSE_NOT_HELLO: Final = 1008  # the first frame was not a hello
CLOSE_TOO_BIG: Final = 1009  # a frame over 16 KiB
CLOSE_INTERNAL: Final = 1011  # the server failed under this connection (Redis or the database): reconnect
CLOSE_RESTART: Final = 1012  # the live room was rebuilt (a new epoch): reconnect at once
CLOSE_SESSION_ENDED: Final = 4001  # logged out everywhere, or the account is gone
CLOSE_NOT_MEMBER: Final = 4003  # not (or no longer) a member of the room, or the room was deleted
CLOSE_FLOOD: Final = 4008  # far past the message rate limits for a sustained time
CLOSE_IDLE: Final = 4009  # nothing received for IDLE_SECONDS
CLOSE_SLOW: Final = 4010  # the send queue overflowed: the client stopped reading
CLOSE_TOO_MANY: Final = 4029  # too many connections for this user or room
CLOSE_CODES: Final = (
    CLOSE_NORMAL,
    CLOSE_GOING_AWAY,
    CLOSE_NOT_HELLO,
    CLOSE_TOO_BIG,
    CLOSE_INTERNAL,
    CLOSE_RESTART,
    CLOSE_SESSION_ENDED,
    CLOSE_NOT_MEMBER,
    CLOSE_FLOOD,
    CLOSE_IDLE,
    CLOSE_SLOW,
    CLOSE_TOO_MANY,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Hello(_In):
    type: Literal["hello"]
    v: int = VERSION
    last_seq: int | None = Field(default=None, alias="lastSeq", ge=0)
    epoch: str | None = Field(default=None, max_length=32)


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


class DurationIn(_In):
    type: Literal["duration"]
    media_id: int = Field(alias="mediaId", ge=1, le=2**31 - 1)
    seconds: float = Field(gt=0, le=MAX_POSITION)


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
    Hello | Ping | CommandIn | BufferingIn | ReadyIn | DurationIn | Report | ChatIn | SetRoleIn | SetOpenControlIn,
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
        "duration": pb.duration,
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
        duration=None if data.get("duration") is None else float(data["duration"]),
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


def you(user_id: int, role: str, *, open_control: bool) -> dict[str, Any]:
    """Who this connection is in the room and what it may do (the room policy's answers)."""
    return {"type": "you", "userId": user_id, "role": role, "can": policy.can(role, open_control=open_control)}


def error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


# ---- the definitions of every server message ----------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class StateOut(_Out):
    media_id: int | None = Field(alias="mediaId")
    position: float = Field(ge=0)
    anchor_server_time: float = Field(alias="anchorServerTime")
    rate: float = Field(ge=MIN_RATE, le=MAX_RATE)
    paused: bool
    version: int = Field(ge=0)
    duration: float | None = Field(gt=0)


class ParamsOut(_Out):
    lead_ms: int = Field(alias="leadMs")
    nudge_from_ms: int = Field(alias="nudgeFromMs")
    nudge_until_ms: int = Field(alias="nudgeUntilMs")
    max_nudge: float = Field(alias="maxNudge")
    seek_from_ms: int = Field(alias="seekFromMs")
    seek_cooldown_ms: int = Field(alias="seekCooldownMs")
    wait_timeout_ms: int = Field(alias="waitTimeoutMs")
    report_interval_ms: int = Field(alias="reportIntervalMs")


class ViewerOut(_Out):
    user_id: int = Field(alias="userId")
    role: policy.Role
    buffering: bool


class Can(_Out):
    control: bool
    change_media: bool = Field(alias="changeMedia")
    set_role: bool = Field(alias="setRole")
    open_control: bool = Field(alias="openControl")
    edit_room: bool = Field(alias="editRoom")
    delete_room: bool = Field(alias="deleteRoom")


class YouOut(_Out):
    user_id: int = Field(alias="userId")
    role: policy.Role
    can: Can


class WelcomeMsg(_Out):
    type: Literal["welcome"]
    v: Literal[1]
    seq: int = Field(ge=0)
    epoch: str
    you: YouOut
    state: StateOut
    params: ParamsOut
    viewers: list[ViewerOut]
    open_control: bool = Field(alias="openControl")
    server_time: float = Field(alias="serverTime")


class YouMsg(YouOut):
    type: Literal["you"]


class PongMsg(_Out):
    type: Literal["pong"]
    id: int
    t0: float
    t1: float
    t2: float


class StateMsg(_Out):
    type: Literal["state"]
    seq: int = Field(ge=1)
    state: StateOut
    execute_at: float = Field(alias="executeAt")
    cause: Literal["command", "waiting", "resume", "timeout", "media", "ended"]
    by: int | None


class RejectedMsg(_Out):
    type: Literal["rejected"]
    reason: Literal["stale_version", "forbidden", "invalid"]
    version: int = Field(ge=0)
    message: str


class WaitingMsg(_Out):
    type: Literal["waiting"]
    seq: int = Field(ge=1)
    buffering: list[int]
    deadline: float


class WaitingEndedMsg(_Out):
    type: Literal["waitingEnded"]
    seq: int = Field(ge=1)
    reason: Literal["ready", "timeout", "left"]
    laggards: list[int]


class ChatUser(_Out):
    id: int
    username: str
    avatar_url: str | None = Field(alias="avatarUrl")


class ChatMessageOut(_Out):
    id: int
    room_id: int = Field(alias="roomId")
    user: ChatUser | None
    content: str
    video_position: float | None = Field(alias="videoPosition")
    created_at: str = Field(alias="createdAt")


class ChatMsg(_Out):
    type: Literal["chat"]
    seq: int = Field(ge=1)
    message: ChatMessageOut


class PresenceUser(_Out):
    id: int
    username: str


class PresenceMsg(_Out):
    type: Literal["presence"]
    seq: int = Field(ge=1)
    event: Literal["join", "leave"]
    user: PresenceUser


class RoleMsg(_Out):
    type: Literal["role"]
    seq: int = Field(ge=1)
    user_id: int = Field(alias="userId")
    role: policy.Role
    by: int | None


class ControlMsg(_Out):
    type: Literal["control"]
    seq: int = Field(ge=1)
    open: bool
    by: int | None


class SyncViewer(_Out):
    user_id: int = Field(alias="userId")
    skew_ms: float = Field(alias="skewMs")
    rtt_ms: float = Field(alias="rttMs")
    buffering: bool
    age_ms: int = Field(alias="ageMs", ge=0)


class SyncMsg(_Out):
    type: Literal["sync"]
    viewers: int = Field(ge=0)
    p50_ms: float | None = Field(default=None, alias="p50Ms")
    p95_ms: float | None = Field(default=None, alias="p95Ms")
    max_ms: float | None = Field(default=None, alias="maxMs")
    per_viewer: list[SyncViewer] = Field(alias="perViewer")


class ErrorMsg(_Out):
    type: Literal["error"]
    code: Literal["bad_json", "unknown_type", "invalid", "rate_limited", "not_a_member", "too_many"]
    message: str


ServerMessage = Annotated[
    WelcomeMsg
    | YouMsg
    | PongMsg
    | StateMsg
    | RejectedMsg
    | WaitingMsg
    | WaitingEndedMsg
    | ChatMsg
    | PresenceMsg
    | RoleMsg
    | ControlMsg
    | SyncMsg
    | ErrorMsg,
    Field(discriminator="type"),
]
# type -> definition, read off the union above (one list of messages)
SERVER_MESSAGES: Final[dict[str, type[_Out]]] = {
    m.model_fields["type"].annotation.__args__[0]: m
    for m in ServerMessage.__origin__.__args__  # type: ignore[attr-defined]
}
_server = TypeAdapter(ServerMessage)


def validate_server(frame: str | bytes) -> ServerMessage:
    """A server frame checked against its definition (for tests and client authors); raises ValidationError."""
    message: ServerMessage = _server.validate_json(frame)
    return message
