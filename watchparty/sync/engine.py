"""The room's playback state machine: step(state, message, now) -> (state, events). Pure: no I/O, no clock of
its own, no randomness, so that every transition is tested on a fake clock and any process that holds the state
computes the same result.

Time is server time in seconds (float). The server owns playback: while playing, the position at time t is
`position + (t - anchor) * rate`, never past the media's duration when the room knows it. Every change takes effect
at `executeAt`, a moment a little in the future, so that every viewer, whatever its latency, acts at the same
instant; the new state is anchored there.

Who may command is the room policy's answer (`watchparty.rooms.policy`). Changes of durable facts (the media, a
role, open control, the playlist) arrive here as system messages (SetMedia, AssignRole, AssignControl, SetQueue)
after the room flows have checked the policy and committed them to the database (ADR 0014).

The playlist (ADR 0015) reaches the engine as one item: what plays when the current one ends (`after`). At the
end the room moves to it by itself, in one transition whose `executeAt` is the very instant the current item
ends (the transition is made `advance_ms` ahead of it), so that nobody waits between items. Vote-skip counts the votes
of the viewers present (connected and not away) who may vote.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from watchparty.rooms.playlist import skips_needed
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
    # a player with only a few fixed rates (YouTube) cannot be nudged: it seeks, from a wider band, less often
    # (a YouTube seek costs a few hundred ms of buffering; OpenTogetherTube corrects from 1 s, CyTube from 2 s)
    step_seek_from_ms: int = 250
    step_seek_cooldown_ms: int = 4000
    wait_timeout_ms: int = 10_000  # a buffering viewer holds the room at most this long
    lag_grace_ms: int = 30_000  # after a timeout, that viewer's buffering does not stop the room again for this long
    report_interval_ms: int = 3000  # clients report position, RTT and offset this often
    # the move to the next playlist item is made this long before the end, with executeAt at the end: a second
    # covers a slow link, a late timer and a player's start-up, where `lead` alone (0.3 s) did not
    advance_ms: int = 1000


@dataclass(frozen=True)
class Playback:
    media_id: int | None = None
    position: float = 0.0
    anchor: float = 0.0  # server time at which `position` holds
    rate: float = 1.0
    paused: bool = True
    version: int = 0
    duration: float | None = None  # seconds, when known (the catalogue, or the first viewer's player)
    item_id: int | None = None  # the playlist item playing (None: media outside a playlist, or nothing)

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

    def at_end(self) -> bool:
        """Stopped at the end of its media (it ended, or was skipped with nothing after it)."""
        return self.paused and self.duration is not None and self.position >= self.duration - END_EPSILON


@dataclass(frozen=True)
class Item:
    """A playlist item as the engine needs it: what to load and how long it is."""

    item_id: int
    media_id: int
    duration: float | None = None


@dataclass(frozen=True)
class Viewer:
    user_id: int
    role: Role
    buffering: bool = False
    lagging_until: float = 0.0  # after a Waiting timeout, their buffering is theirs alone until then
    away: bool = False  # the viewer said it is not watching (a hidden page): not counted for vote-skip


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
    after: Item | None = None  # what plays when the current item ends (the playlist's answer); None: stop there
    queue_version: int = 0  # the playlist version `after` was computed at: an older SetQueue or SetMedia is late
    skip_ratio: float = 0.5  # a room setting: the share of present voters whose skip votes skip the item
    members_add: bool = False  # a room setting: every member may add items (for `you.can`)
    skip_votes: frozenset[int] = frozenset()  # who voted to skip the current item


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
    """The current item changed (play now, next, previous, a jump, the playing item removed): the new media from
    0. With `autoplay`, it plays if the room was playing (or had stopped at the end); else paused."""

    media_id: int | None
    duration: float | None
    by: int | None
    item_id: int | None = None
    after: Item | None = None
    autoplay: bool = False
    queue_version: int = 0
    cause: Literal["media", "skip"] = "media"


@dataclass(frozen=True)
class SetQueue:
    """The playlist changed without changing the current item: what comes after it, and the room's rules."""

    after: Item | None
    queue_version: int
    skip_ratio: float
    members_add: bool


@dataclass(frozen=True)
class VoteSkip:
    user_id: int
    item_id: int
    vote: bool  # True: skip it; False: take the vote back


@dataclass(frozen=True)
class Away:
    user_id: int
    away: bool


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


Message = (
    Command
    | Join
    | Leave
    | Buffering
    | Ready
    | MediaDuration
    | SetMedia
    | SetQueue
    | VoteSkip
    | Away
    | AssignRole
    | AssignControl
    | Tick
)

# ---- events out ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateChanged:
    playback: Playback
    execute_at: float
    cause: Literal["command", "waiting", "resume", "timeout", "media", "ended", "advance", "skip"]
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


@dataclass(frozen=True)
class SkipVotes:
    """The skip votes on the playing item changed (a vote, or who is present): how many, of how many needed."""

    item_id: int
    voters: frozenset[int]
    needed: int


Event = StateChanged | Rejected | WaitingStarted | WaitingEnded | RoleChanged | ControlChanged | SkipVotes


# ---- the machine ---------------------------------------------------------------------------------------------


def can_control(state: RoomState, user_id: int) -> bool:
    viewer = state.viewers.get(user_id)
    return viewer is not None and allowed(viewer.role, "control", open_control=state.open_control)


def next_deadline(state: RoomState, params: SyncParams = SyncParams()) -> float | None:
    """The next moment at which a Tick changes something: a Waiting's deadline, or the end of the media (`lead`
    before it when another item follows, so that the next one starts at the very end)."""
    end = state.playback.ends_at()
    if end is not None and state.after is not None:
        end -= params.advance_ms / 1000
    times = [t for t in (state.waiting.deadline if state.waiting else None, end) if t is not None]
    return min(times) if times else None


def skip_voters(state: RoomState) -> list[int]:
    """The viewers whose skip votes count: present (connected, not away) and allowed to vote."""
    return [v.user_id for v in state.viewers.values() if not v.away and allowed(v.role, "voteSkip")]


def step(
    state: RoomState, message: Message, now: float, params: SyncParams = SyncParams()
) -> tuple[RoomState, list[Event]]:
    """Apply one message at server time `now`."""
    match message:
        case Command():
            return _command(state, message, now, params)
        case Join(user_id, role):
            known = state.viewers.get(user_id)  # a reconnect keeps its laggard grace and its buffering
            joined = Viewer(user_id, role) if known is None else replace(known, role=role, away=False)
            return _recount(state, replace(state, viewers={**state.viewers, user_id: joined}), [], now, params)
        case Leave(user_id):
            viewers = {k: v for k, v in state.viewers.items() if k != user_id}
            left = replace(state, viewers=viewers, skip_votes=state.skip_votes - {user_id})
            if left.waiting is not None and user_id in left.waiting.buffering:
                left, events = _still_waiting(left, left.waiting.buffering - {user_id}, now, params, "left")
                return _recount(state, left, events, now, params)
            return _recount(state, left, [], now, params)
        case Away(user_id, away):
            viewer = state.viewers.get(user_id)
            if viewer is None or viewer.away == away:
                return state, []
            return _recount(state, replace(state, viewers={**state.viewers, user_id: replace(viewer, away=away)}),
                            [], now, params)  # fmt: skip
        case VoteSkip(user_id, item_id, vote):
            return _vote_skip(state, user_id, item_id, vote, now, params)
        case SetQueue(after, version, ratio, members_add):
            if version <= state.queue_version:
                return state, []  # late: a newer playlist already reached the room
            new = replace(state, after=after, queue_version=version, skip_ratio=ratio, members_add=members_add)
            pb = new.playback
            if after is not None and pb.item_id is not None and pb.at_end():  # the list had run out: go on
                return _advance(new, after, now + params.lead_ms / 1000, "advance", None)
            return _recount(state, new, [], now, params)
        case Buffering(user_id):
            return _buffering(state, user_id, now, params)
        case Ready(user_id):
            return _ready(state, user_id, now, params)
        case MediaDuration(media_id, seconds):
            pb = state.playback
            if pb.duration is not None or media_id != pb.media_id or not 0 < seconds <= MAX_POSITION:
                return state, []
            return replace(state, playback=replace(pb, duration=seconds)), []
        case SetMedia():
            return _set_media(state, message, now, params)
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
            if end is not None and state.after is not None and now >= end - params.advance_ms / 1000:
                return _advance(state, state.after, max(end, now + params.lead_ms / 1000), "advance", None)
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


def _set_media(state: RoomState, msg: SetMedia, now: float, params: SyncParams) -> tuple[RoomState, list[Event]]:
    """New media: from 0, at rate 1 (playing with `autoplay` if the room was playing or had run out, else paused);
    a Waiting ends (nobody waits for the old media), and the skip votes go with the old item."""
    if msg.queue_version and msg.queue_version < state.queue_version:
        return state, []  # late: the room already follows a newer playlist
    at = now + params.lead_ms / 1000
    pb = state.playback
    playing = msg.autoplay and (not pb.paused or state.waiting is not None or pb.at_end())
    new = Playback(
        media_id=msg.media_id,
        position=0.0,
        anchor=at,
        paused=not playing,
        version=pb.version + 1,
        duration=msg.duration,
        item_id=msg.item_id,
        rate=pb.rate if playing else 1.0,
    )
    events: list[Event] = [WaitingEnded("ready")] if state.waiting is not None else []
    viewers = {k: replace(v, buffering=False) for k, v in state.viewers.items()}
    version = max(state.queue_version, msg.queue_version)
    state = replace(
        state,
        playback=new,
        waiting=None,
        viewers=viewers,
        after=msg.after,
        queue_version=version,
        skip_votes=frozenset(),
    )
    return state, [*events, StateChanged(new, at, msg.cause, msg.by)]


def _advance(
    state: RoomState, item: Item, at: float, cause: Literal["advance", "skip"], by: int | None, *, play: bool = True
) -> tuple[RoomState, list[Event]]:
    """The room moves to `item` by itself (the end of the current one, or a vote-skip), from 0 at `at`, at the
    room's rate, playing (a vote-skip in a paused room stays paused). What comes after it is the playlist's to say
    (SetQueue), unless it is the same item again."""
    pb = state.playback
    new = Playback(
        media_id=item.media_id,
        position=0.0,
        anchor=at,
        rate=pb.rate,
        paused=not play,
        version=pb.version + 1,
        duration=item.duration,
        item_id=item.item_id,
    )
    events: list[Event] = [WaitingEnded("ready")] if state.waiting is not None else []
    viewers = {k: replace(v, buffering=False) for k, v in state.viewers.items()}
    after = state.after if item.item_id == pb.item_id else None
    state = replace(state, playback=new, waiting=None, viewers=viewers, after=after, skip_votes=frozenset())
    return state, [*events, StateChanged(new, at, cause, by)]


def _vote_skip(
    state: RoomState, user_id: int, item_id: int, vote: bool, now: float, params: SyncParams
) -> tuple[RoomState, list[Event]]:
    pb = state.playback
    viewer = state.viewers.get(user_id)
    if viewer is None or not allowed(viewer.role, "voteSkip"):
        return state, [Rejected(user_id, "forbidden", pb.version, "you may not vote to skip here")]
    if pb.item_id is None or item_id != pb.item_id:
        return state, [Rejected(user_id, "invalid", pb.version, "that item is not the one playing")]
    if viewer.away:  # voting is watching: a viewer that votes is back
        state = replace(state, viewers={**state.viewers, user_id: replace(viewer, away=False)})
    votes = state.skip_votes | {user_id} if vote else state.skip_votes - {user_id}
    return _recount(state, replace(state, skip_votes=votes), [], now, params, force=True)


def _recount(
    before: RoomState,
    state: RoomState,
    events: list[Event],
    now: float,
    params: SyncParams,
    *,
    force: bool = False,
) -> tuple[RoomState, list[Event]]:
    """After votes or the people present changed: skip the item if enough of those present voted, else tell the
    room the new count (when it changed, or `force`)."""
    pb = state.playback
    if pb.item_id is None or (not state.skip_votes and not before.skip_votes):
        return state, events
    voters = skip_voters(state)
    counted = frozenset(state.skip_votes & set(voters))
    needed = skips_needed(len(voters), state.skip_ratio)
    if counted and len(counted) >= needed:
        at = now + params.lead_ms / 1000
        if state.after is not None:
            playing = not pb.paused or state.waiting is not None
            state, more = _advance(state, state.after, at, "skip", None, play=playing)
            return state, [*events, *more]
        here = pb.duration if pb.duration is not None else pb.position_at(at)
        stopped = replace(pb, position=here, anchor=at, paused=True, version=pb.version + 1)
        if state.waiting is not None:
            events = [*events, WaitingEnded("ready")]
        state = replace(state, playback=stopped, waiting=None, skip_votes=frozenset())
        return state, [*events, StateChanged(stopped, at, "skip")]
    old_voters = skip_voters(before)
    old = (frozenset(before.skip_votes & set(old_voters)), skips_needed(len(old_voters), before.skip_ratio))
    if force or old != (counted, needed):
        events = [*events, SkipVotes(pb.item_id, counted, needed)]
    return state, events


def _ended(state: RoomState, end: float) -> tuple[RoomState, list[Event]]:
    """The media is over: the room stops at its duration, anchored at the instant it got there, for everyone."""
    pb = state.playback
    assert pb.duration is not None
    stopped = replace(pb, position=pb.duration, anchor=end, paused=True, version=pb.version + 1)
    return replace(state, playback=stopped, skip_votes=frozenset()), [StateChanged(stopped, end, "ended")]


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
