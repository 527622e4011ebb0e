"""The wire format of WS /api/rooms/{id}/ws: JSON text frames with a `type`, protocol version 1.

Client messages are parsed strictly (unknown types and fields are errors). Every server message is defined once,
below (`SERVER_MESSAGES`); the hot paths build them as plain dicts with the builders here, and the tests validate
every frame they receive against the definitions, and docs/protocol.md against the same definitions. Times on
the wire are server epoch ms."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from watchparty.rooms import playlist, policy
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
CLOSE_RESTART: Final = 1012  # the live room was rebuilt (a new epoch), or the process missed events: reconnect at once
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
    startup_ms: float | None = Field(
        default=None, alias="startupMs", ge=0, le=10_000,
        description="how long this player takes to start after a play or a seek, as the client learned it",
    )  # fmt: skip


class ChatIn(_In):
    type: Literal["chat"]
    content: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)
    reply_to: int | None = Field(default=None, alias="replyTo", ge=1, le=2**31 - 1)


class SetRoleIn(_In):
    type: Literal["setRole"]
    user_id: int = Field(alias="userId", ge=1)
    role: Literal["moderator", "member"]


class SetOpenControlIn(_In):
    type: Literal["setOpenControl"]
    open: bool


_Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
PLAYLIST_OPS: Final = (
    "add", "import", "remove", "move", "vote", "play", "next", "previous", "clear", "shuffle", "settings"
)  # fmt: skip


class PlaylistIn(_In):
    """A playlist operation: the same fields as its REST body (ADR 0015), checked by the same rules."""

    type: Literal["playlist"]
    op: Literal["add", "import", "remove", "move", "vote", "play", "next", "previous", "clear", "shuffle", "settings"]
    base_version: int | None = Field(default=None, alias="baseVersion", ge=0, le=2**31 - 1)
    item_id: _Id | None = Field(default=None, alias="itemId")
    movie_id: _Id | None = Field(default=None, alias="movieId")
    url: str | None = Field(default=None, max_length=4096)
    title: str | None = Field(default=None, max_length=400)
    at: Literal["end", "next"] | None = None
    index: int | None = Field(default=None, ge=0, le=playlist.MAX_ITEMS)
    up: bool | None = None
    text: str | None = Field(default=None, max_length=MAX_FRAME_BYTES)
    items: list[dict[str, Any]] | None = Field(default=None, max_length=playlist.MAX_IMPORT)
    mode: playlist.Mode | None = None
    loop: playlist.Loop | None = None
    members_add: bool | None = Field(default=None, alias="membersAdd")
    skip_ratio: float | None = Field(default=None, alias="skipRatio", gt=0, le=1)
    queue_cap: int | None = Field(default=None, alias="queueCap", ge=1, le=playlist.MAX_ITEMS)


class VoteSkipIn(_In):
    type: Literal["voteSkip"]
    item_id: _Id = Field(alias="itemId")
    vote: bool = True


class AwayIn(_In):
    type: Literal["away"]
    away: bool


ClientMessage = Annotated[
    Hello
    | Ping
    | CommandIn
    | BufferingIn
    | ReadyIn
    | DurationIn
    | Report
    | ChatIn
    | SetRoleIn
    | SetOpenControlIn
    | PlaylistIn
    | VoteSkipIn
    | AwayIn,
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
        "itemId": pb.item_id,
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
        item_id=data.get("itemId"),
    )


def params(p: SyncParams) -> dict[str, Any]:
    return {
        "leadMs": p.lead_ms,
        "nudgeFromMs": p.nudge_from_ms,
        "nudgeUntilMs": p.nudge_until_ms,
        "maxNudge": p.max_nudge,
        "seekFromMs": p.seek_from_ms,
        "seekCooldownMs": p.seek_cooldown_ms,
        "stepSeekFromMs": p.step_seek_from_ms,
        "stepSeekCooldownMs": p.step_seek_cooldown_ms,
        "waitTimeoutMs": p.wait_timeout_ms,
        "reportIntervalMs": p.report_interval_ms,
    }


def viewer(v: Viewer) -> dict[str, Any]:
    return {"userId": v.user_id, "role": v.role, "buffering": v.buffering, "away": v.away}


def you(user_id: int, role: str, *, open_control: bool, members_add: bool = False) -> dict[str, Any]:
    """Who this connection is in the room and what it may do (the room policy's answers)."""
    can = policy.can(role, open_control=open_control, members_add=members_add)
    return {"type": "you", "userId": user_id, "role": role, "can": can}


def skip_votes(item_id: int, voters: frozenset[int] | set[int], needed: int) -> dict[str, Any]:
    return {"itemId": item_id, "votes": len(voters), "voters": sorted(voters), "needed": needed}


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
    item_id: int | None = Field(alias="itemId")


class ParamsOut(_Out):
    lead_ms: int = Field(alias="leadMs")
    nudge_from_ms: int = Field(alias="nudgeFromMs")
    nudge_until_ms: int = Field(alias="nudgeUntilMs")
    max_nudge: float = Field(alias="maxNudge")
    seek_from_ms: int = Field(alias="seekFromMs")
    seek_cooldown_ms: int = Field(alias="seekCooldownMs")
    step_seek_from_ms: int = Field(alias="stepSeekFromMs")
    step_seek_cooldown_ms: int = Field(alias="stepSeekCooldownMs")
    wait_timeout_ms: int = Field(alias="waitTimeoutMs")
    report_interval_ms: int = Field(alias="reportIntervalMs")


class ViewerOut(_Out):
    user_id: int = Field(alias="userId")
    role: policy.Role
    buffering: bool
    away: bool


class Can(_Out):
    control: bool
    change_media: bool = Field(alias="changeMedia")
    set_role: bool = Field(alias="setRole")
    open_control: bool = Field(alias="openControl")
    edit_room: bool = Field(alias="editRoom")
    delete_room: bool = Field(alias="deleteRoom")
    add_item: bool = Field(alias="addItem")
    edit_playlist: bool = Field(alias="editPlaylist")
    vote: bool
    vote_skip: bool = Field(alias="voteSkip")
    kick: bool
    ban: bool
    mute: bool
    moderation_log: bool = Field(alias="moderationLog")
    hand_over: bool = Field(alias="handOver")
    moderate_chat: bool = Field(alias="moderateChat")


class YouOut(_Out):
    user_id: int = Field(alias="userId")
    role: policy.Role
    can: Can


class SkipOut(_Out):
    item_id: int = Field(alias="itemId")
    votes: int = Field(ge=0)
    voters: list[int]
    needed: int = Field(ge=1)


class MutedOut(_Out):
    until: float | None = Field(description="server time (ms) it ends; null: until lifted")
    reason: str | None


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
    skip: SkipOut | None
    muted: MutedOut | None


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
    cause: Literal["command", "waiting", "resume", "timeout", "media", "ended", "advance", "skip"]
    by: int | None


class LocalFileOut(_Out):
    name: str
    size: int
    duration: float
    fingerprint: str


class MediaCheck(_Out):
    """The movie's media check, as the REST API's MediaCheck (docs/protocol.md, "The media check")."""

    status: Literal["checking", "ready", "refused"]
    code: str | None = None
    message: str | None = None
    kind: Literal["file", "hls", "youtube", "local"] | None = None
    content_type: str | None = Field(default=None, alias="contentType")
    duration: float | None = None
    codecs: list[str] = Field(default_factory=list)
    ranges: bool | None = None
    cors: bool | None = None
    took_ms: float | None = Field(default=None, alias="tookMs")
    checked_at: str | None = Field(default=None, alias="checkedAt")
    local_file: LocalFileOut | None = Field(default=None, alias="localFile")


class PlaylistMovie(_Out):
    id: int
    title: str
    poster_url: str | None = Field(alias="posterUrl")
    video_url: str = Field(alias="videoUrl")
    duration_seconds: int | None = Field(alias="durationSeconds")
    check: MediaCheck


class PlaylistAdder(_Out):
    id: int
    username: str
    avatar_url: str | None = Field(alias="avatarUrl")


class PlaylistItemOut(_Out):
    id: int
    movie: PlaylistMovie
    added_by: PlaylistAdder | None = Field(alias="addedBy")
    added_at: str = Field(alias="addedAt")
    votes: int = Field(ge=0)
    voters: list[int]


class PlaylistOut(_Out):
    """The whole list, as GET /api/rooms/{id}/playlist gives it."""

    version: int = Field(ge=0)
    mode: playlist.Mode
    loop: playlist.Loop
    current_item_id: int | None = Field(alias="currentItemId")
    current_index: int | None = Field(alias="currentIndex")
    members_add: bool = Field(alias="membersAdd")
    skip_ratio: float = Field(alias="skipRatio")
    queue_cap: int = Field(alias="queueCap")
    items: list[PlaylistItemOut]


class RejectedMsg(_Out):
    type: Literal["rejected"]
    reason: Literal["stale_version", "forbidden", "invalid"]
    version: int = Field(ge=0)
    message: str
    playlist: PlaylistOut | None = None


class PlaylistMsg(_Out):
    type: Literal["playlist"]
    seq: int = Field(ge=1)
    op: Literal["add", "remove", "move", "clear", "shuffle", "settings", "vote", "current", "import"]
    by: int | None
    version: int = Field(ge=1)
    order: list[int]
    current_item_id: int | None = Field(alias="currentItemId")
    mode: playlist.Mode
    loop: playlist.Loop
    members_add: bool = Field(alias="membersAdd")
    skip_ratio: float = Field(alias="skipRatio")
    queue_cap: int = Field(alias="queueCap")
    items: list[PlaylistItemOut]


class SkipVotesMsg(SkipOut):
    type: Literal["skipVotes"]
    seq: int = Field(ge=1)


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


class ReplyOut(_Out):
    id: int
    author_name: str | None = Field(alias="authorName")
    excerpt: str | None


class ReactionOut(_Out):
    emoji: str
    count: int = Field(ge=1)
    user_ids: list[int] = Field(alias="userIds")


class ChatMessageOut(_Out):
    id: int
    room_id: int = Field(alias="roomId")
    user: ChatUser | None
    author_name: str | None = Field(alias="authorName")
    content: str
    video_position: float | None = Field(alias="videoPosition")
    created_at: str = Field(alias="createdAt")
    reply_to: ReplyOut | None = Field(alias="replyTo")
    reactions: list[ReactionOut]


class ChatDeletedMsg(_Out):
    type: Literal["chatDeleted"]
    seq: int = Field(ge=1)
    message_ids: list[int] = Field(alias="messageIds")
    by: int


class ChatClearedMsg(_Out):
    type: Literal["chatCleared"]
    seq: int = Field(ge=1)
    by: int


class ChatRestoredMsg(_Out):
    type: Literal["chatRestored"]
    seq: int = Field(ge=1)
    by: int


class ReactionMsg(_Out):
    type: Literal["reaction"]
    seq: int = Field(ge=1)
    message_id: int = Field(alias="messageId")
    emoji: str
    user_id: int = Field(alias="userId")
    on: bool
    count: int = Field(ge=0)


class ChatRulesMsg(_Out):
    type: Literal["chatRules"]
    seq: int = Field(ge=1)
    slow_mode_seconds: int = Field(alias="slowModeSeconds", ge=0)
    by: int


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


class ModerationMsg(_Out):
    type: Literal["moderation"]
    seq: int = Field(ge=1)
    action: Literal["kick", "ban", "unban", "mute", "unmute", "readmit"]
    user_id: int = Field(alias="userId")
    by: int | None
    until: float | None


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
    code: Literal[
        "bad_json",
        "unknown_type",
        "invalid",
        "rate_limited",
        "not_a_member",
        "too_many",
        "muted",
        "kicked",
        "banned",
        "slow_mode",
        "filtered",
    ]
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
    | ChatDeletedMsg
    | ChatClearedMsg
    | ChatRestoredMsg
    | ReactionMsg
    | ChatRulesMsg
    | PresenceMsg
    | RoleMsg
    | ControlMsg
    | PlaylistMsg
    | SkipVotesMsg
    | ModerationMsg
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
