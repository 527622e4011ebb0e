"""The room's playback state machine: step(state, message, now) -> (state, events). Pure: no I/O, no clock of
its own, no randomness, so that every transition is tested on a fake clock and any process that holds the state
computes the same result.

Time is server time in seconds (float). The server owns playback: while playing, the position at time t is
`position + (t - anchor) * rate`, never past the media's duration when the room knows it. Every change takes effect
at `executeAt`, a moment a little in the future, so that every viewer, whatever its latency, acts at the same
instant; the new state is anchored there.

Who may command is the room policy's answer (`watchparty.rooms.policy`). Changes of durable facts (the media, a
role, open control) arrive here as system messages (SetMedia, AssignRole, AssignControl) after the room flows
have checked the policy and committed them to the database (ADR 0014).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from watchparty.rooms.policy import Role, allowed

Action = Literal["play", "pause", "seek", "setRate"]

MIN_RATE, MAX_RATE = 0.25, 4.0
MAX_POSITION = 24 * 3600.0  # a day: no film is longer, and it bounds what a client can make us store
END_EPSILON = 0.05  # a paused position this close to the end is the end: play there starts again from 0


@dataclass(frozen=True)
class SyncParams:
    """What clients need to correct drift, sent to them on join. Times in ms."""

    lead_ms: int = 300  # executeAt = now + lead: room for every viewer's message to arrive first
    nudge_from_ms: int = 25  # off by more than this: play slightly faster or slower
    nudge_until_ms: int = 5  # ... until within this (hysteresis: a nudge does not stop at the error it began at)
    max_nudge: float = 0.08  # at most ±8% (watchparty.me nudges up to 10%, Syncplay slows to 0.95)
    seek_from_ms: int = 400  # off by more than this: seek (Jellyfin: 400 ms; OpenTogetherTube: 1 s)
    seek_cooldown_ms: int = 1500  # no second seek sooner: stops the stutter of over-eager correction
    wait_timeout_ms: int = 10_000  # a buffering viewer holds the room at most this long
    lag_grace_ms: int = 30_000  # after a timeout, that viewer's buffering does not stop the room again for this long
    report_interval_ms: int = 3000  # clients report position, RTT and offset this often


@dataclass(frozen=True)
class Playback:
    media_id: int | None = None
    position: float = 0.0
    anchor: float = 0.0  # server time at which `position` holds
    rate: float = 1.0
    paused: bool = True
    version: int = 0
    duration: float | None = None  # seconds, when known (the catalogue, or the first viewer's player)

    def position_at(self, now: float) -> float:
        if self.paused:
            return self.position
        return self.clamp(self.position + (now - self.anchor) * self.rate)

    def clamp(self, position: float) -> float:
        return max(0.0, min(position, self.duration)) if self.duration is not None else max(0.0, position)

    def ends_at(self) -> float | None:
        """Server time at which a playing room reaches the end of its media; None if paused or unknown."""
        if self.paused or self.duration is None:
            return None
        return self.anchor + max(0.0, self.duration - self.position) / self.rate


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: Role
    buffering: bool = False
    lagging_until: float = 0.0  # after a Waiting timeout, their buffering is theirs alone until then


@dataclass(frozen=True)
class Waiting:
    since: float
    deadline: float
    buffering: frozenset[int]


@dataclass(frozen=True)
class RoomState:
    playback: Playback = field(default_factory=Playback)
    viewers: dict[int, Viewer] = field(default_factory=dict)
    waiting: Waiting | None = None
    open_control: bool = False  # a room setting: every member may control playback
    epoch: str = ""  # the live room's generation: a new one each time it is rebuilt from the database


# ---- messages in ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    user_id: int
    action: Action
    base_version: int
    position: float | None = None
    rate: float | None = None


@dataclass(frozen=True)
class Join:
    user_id: int
    role: Role


@dataclass(frozen=True)
class Leave:
    user_id: int


@dataclass(frozen=True)
class Buffering:
    user_id: int


@dataclass(frozen=True)
class Ready:
    user_id: int


@dataclass(frozen=True)
class MediaDuration:
    """A viewer's player knows the media's duration; taken only when the room does not know it yet."""

    media_id: int | None
    seconds: float


# System messages: the room flows send these after the change is authorised and committed (ADR 0014).


@dataclass(frozen=True)
class SetMedia:
    media_id: int | None
    duration: float | None
    by: int | None


@dataclass(frozen=True)
class AssignRole:
    target: int
    role: Role
    by: int | None


@dataclass(frozen=True)
class AssignControl:
    open: bool
    by: int | None


@dataclass(frozen=True)
class Tick:
    """Time passed; timeouts fire, and a playing room that reached the end of its media stops there."""


Message = Command | Join | Leave | Buffering | Ready | MediaDuration | SetMedia | AssignRole | AssignControl | Tick

# ---- events out ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateChanged:
    playback: Playback
    execute_at: float
    cause: Literal["command", "waiting", "resume", "timeout", "media", "ended"]
    by: int | None = None


@dataclass(frozen=True)
class Rejected:
    user_id: int
    reason: Literal["stale_version", "forbidden", "invalid", "waiting"]
    version: int
    detail: str = ""


@dataclass(frozen=True)
class WaitingStarted:
    buffering: frozenset[int]
    deadline: float


@dataclass(frozen=True)
class WaitingEnded:
    reason: Literal["ready", "timeout", "left"]
    laggards: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RoleChanged:
    target: int
    role: Role
    by: int | None


@dataclass(frozen=True)
class ControlChanged:
    open: bool
    by: int | None


Event = StateChanged | Rejected | WaitingStarted | WaitingEnded | RoleChanged | ControlChanged


# ---- the machine ---------------------------------------------------------------------------------------------


def can_control(state: RoomState, user_id: int) -> bool:
    viewer = state.viewers.get(user_id)
    return viewer is not None and allowed(viewer.role, "control", open_control=state.open_control)


def next_deadline(state: RoomState) -> float | None:
    """The next moment at which a Tick changes something: a Waiting's deadline, or the end of the media."""
    times = [t for t in (state.waiting.deadline if state.waiting else None, state.playback.ends_at()) if t is not None]
    return min(times) if times else None


def step(
    state: RoomState, message: Message, now: float, params: SyncParams = SyncParams()
) -> tuple[RoomState, list[Event]]:
    """Apply one message at server time `now`."""
    match message:
        case Command():
            return _command(state, message, now, params)
        case Join(user_id, role):
            known = state.viewers.get(user_id)  # a reconnect keeps its laggard grace and its buffering
            joined = Viewer(user_id, role) if known is None else replace(known, role=role)
            return replace(state, viewers={**state.viewers, user_id: joined}), []
        case Leave(user_id):
            viewers = {k: v for k, v in state.viewers.items() if k != user_id}
            state = replace(state, viewers=viewers)
            if state.waiting is not None and user_id in state.waiting.buffering:
                return _still_waiting(state, state.waiting.buffering - {user_id}, now, params, "left")
            return state, []
        case Buffering(user_id):
            return _buffering(state, user_id, now, params)
        case Ready(user_id):
            return _ready(state, user_id, now, params)
        case MediaDuration(media_id, seconds):
            pb = state.playback
            if pb.duration is not None or media_id != pb.media_id or not 0 < seconds <= MAX_POSITION:
                return state, []
            return replace(state, playback=replace(pb, duration=seconds)), []
        case SetMedia(media_id, duration, by):
            return _set_media(state, media_id, duration, by, now, params)
        case AssignRole(target, role, by):
            viewer = state.viewers.get(target)
            if viewer is not None:
                state = replace(state, viewers={**state.viewers, target: replace(viewer, role=role)})
            return state, [RoleChanged(target, role, by)]
        case AssignControl(open_, by):
            return replace(state, open_control=open_), [ControlChanged(open_, by)]
        case Tick():
            if state.waiting is not None and now >= state.waiting.deadline:
                return _resume(state, now, params, "timeout", laggards=state.waiting.buffering)
            end = state.playback.ends_at()
            if end is not None and now >= end:
                return _ended(state, end)
            return state, []
    raise TypeError(f"not a message: {message!r}")  # pragma: no cover - the match is exhaustive


def _command(state: RoomState, cmd: Command, now: float, params: SyncParams) -> tuple[RoomState, list[Event]]:
    pb = state.playback
    if not can_control(state, cmd.user_id):
        return state, [Rejected(cmd.user_id, "forbidden", pb.version, "you do not control playback here")]
    if cmd.base_version != pb.version:
        return state, [Rejected(cmd.user_id, "stale_version", pb.version, "the state changed; here is the new one")]
    at = now + params.lead_ms / 1000
    here = pb.position_at(at)
    match cmd.action:
        case "play":
            at_end = pb.duration is not None and here >= pb.duration - END_EPSILON
            new = replace(pb, position=0.0 if at_end else here, anchor=at, paused=False)
        case "pause":
            new = replace(pb, position=here, anchor=at, paused=True)
        case "seek":
            if cmd.position is None or not 0 <= cmd.position <= MAX_POSITION:
                return state, [Rejected(cmd.user_id, "invalid", pb.version, "seek needs a position in seconds")]
            new = replace(pb, position=pb.clamp(cmd.position), anchor=at)
        case "setRate":
            if cmd.rate is None or not MIN_RATE <= cmd.rate <= MAX_RATE:
                return state, [Rejected(cmd.user_id, "invalid", pb.version, f"rate must be {MIN_RATE}..{MAX_RATE}")]
            new = replace(pb, position=here, anchor=at, rate=cmd.rate)
    new = replace(new, version=pb.version + 1)
    waiting = state.waiting
    events: list[Event] = []
    if waiting is not None and cmd.action == "pause":
        waiting = None  # nobody waits for a paused room
        events.append(WaitingEnded("ready"))
    elif waiting is not None:
        # the room stays held; the command sets where it resumes
        new = replace(new, paused=True)
    state = replace(state, playback=new, waiting=waiting)
    return state, [*events, StateChanged(new, at, "command", cmd.user_id)]


def _set_media(
    state: RoomState, media_id: int | None, duration: float | None, by: int | None, now: float, params: SyncParams
) -> tuple[RoomState, list[Event]]:
    """New media: from 0, paused, at rate 1; a Waiting ends (nobody waits for the old media)."""
    at = now + params.lead_ms / 1000
    pb = state.playback
    new = Playback(media_id=media_id, position=0.0, anchor=at, paused=True, version=pb.version + 1, duration=duration)
    events: list[Event] = [WaitingEnded("ready")] if state.waiting is not None else []
    viewers = {k: replace(v, buffering=False) for k, v in state.viewers.items()}
    state = replace(state, playback=new, waiting=None, viewers=viewers)
    return state, [*events, StateChanged(new, at, "media", by)]


def _ended(state: RoomState, end: float) -> tuple[RoomState, list[Event]]:
    """The media is over: the room stops at its duration, anchored at the instant it got there, for everyone."""
    pb = state.playback
    assert pb.duration is not None
    stopped = replace(pb, position=pb.duration, anchor=end, paused=True, version=pb.version + 1)
    return replace(state, playback=stopped), [StateChanged(stopped, end, "ended")]


def _buffering(state: RoomState, user_id: int, now: float, params: SyncParams) -> tuple[RoomState, list[Event]]:
    viewer = state.viewers.get(user_id)
    if viewer is None:
        return state, []
    state = replace(state, viewers={**state.viewers, user_id: replace(viewer, buffering=True)})
    pb = state.playback
    if state.waiting is not None:
        waiting = replace(state.waiting, buffering=state.waiting.buffering | {user_id})
        return replace(state, waiting=waiting), []
    if pb.paused or now < viewer.lagging_until:
        return state, []  # nothing to hold: paused, or a laggard catching up alone
    at = now + params.lead_ms / 1000
    held = replace(pb, position=pb.position_at(at), anchor=at, paused=True, version=pb.version + 1)
    waiting = Waiting(since=now, deadline=now + params.wait_timeout_ms / 1000, buffering=frozenset({user_id}))
    state = replace(state, playback=held, waiting=waiting)
    return state, [WaitingStarted(waiting.buffering, waiting.deadline), StateChanged(held, at, "waiting", user_id)]


def _ready(state: RoomState, user_id: int, now: float, params: SyncParams) -> tuple[RoomState, list[Event]]:
    viewer = state.viewers.get(user_id)
    if viewer is None:
        return state, []
    state = replace(state, viewers={**state.viewers, user_id: replace(viewer, buffering=False)})
    if state.waiting is None or user_id not in state.waiting.buffering:
        return state, []
    return _still_waiting(state, state.waiting.buffering - {user_id}, now, params, "ready")


def _still_waiting(
    state: RoomState, buffering: frozenset[int], now: float, params: SyncParams, reason: Literal["ready", "left"]
) -> tuple[RoomState, list[Event]]:
    assert state.waiting is not None
    if buffering:
        return replace(state, waiting=replace(state.waiting, buffering=buffering)), []
    return _resume(state, now, params, reason, laggards=frozenset())


def _resume(
    state: RoomState,
    now: float,
    params: SyncParams,
    reason: Literal["ready", "timeout", "left"],
    laggards: frozenset[int],
) -> tuple[RoomState, list[Event]]:
    pb = state.playback
    at = now + params.lead_ms / 1000
    resumed = replace(pb, anchor=at, paused=False, version=pb.version + 1)
    viewers = dict(state.viewers)
    for user_id in laggards:  # they catch up alone, and do not hold the room again for a while
        if user_id in viewers:
            viewers[user_id] = replace(viewers[user_id], lagging_until=now + params.lag_grace_ms / 1000)
    state = replace(state, playback=resumed, waiting=None, viewers=viewers)
    cause: Literal["resume", "timeout"] = "timeout" if reason == "timeout" else "resume"
    return state, [WaitingEnded(reason, laggards), StateChanged(resumed, at, cause)]


def skew_ms(playback: Playback, reported_position: float, at_server_time: float) -> float:
    """How far a viewer's reported position is from where the room is, in ms (positive: ahead)."""
    return (reported_position - playback.position_at(at_server_time)) * 1000
