"""Rooms across processes (ADR 0007, ADR 0014).

The live room is derived from the database: its engine state lives in Redis and, when it is missing (Redis
restarted, was flushed, or evicted it), it is rebuilt from the room's durable facts, paused where playback was, in
a new generation (`epoch`). Engine transitions change the state by compare-and-set (WATCH/MULTI), so commands from
any process are ordered. Events are numbered by a counter of their own (`seq`), apart from the state, so chat and
presence never rewrite the state: one Lua script numbers a batch of events, appends them to a bounded Redis Stream
(for resume) and publishes them to every process, which hands them to its local sockets through bounded queues.
Control traffic (kicks, closes, revocations) travels on a channel of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from watchparty.core.realtime import (
    ControlSet,
    LiveItem,
    MediaSet,
    MemberGone,
    QueueSet,
    RoleSet,
    RoomChange,
    RoomGone,
)
from watchparty.sync import engine, protocol

MAX_LEAD_MS = 1500  # a change is never scheduled further ahead than this, however slow a player
log = logging.getLogger("watchparty.sync")

STREAM_MAXLEN = 1000
PRESENCE_GRACE = 5.0  # seconds: a reconnect within this is neither a leave nor a join

# Numbers a batch of events (ARGV[2..]: JSON objects without `seq`), appends each to the stream with its number as
# the entry id, and publishes the batch as one JSON array. If the counter was lost while the stream survived, it
# goes on after the stream's last entry, so numbers never go back within a stream. Returns the last number.
_EMIT = """
local n = #ARGV - 1
local last = redis.call('INCRBY', KEYS[1], n)
if last == n then
  local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if top[1] then
    local topseq = tonumber(string.match(top[1][1], '^(%d+)'))
    if topseq >= last - n + 1 then
      last = topseq + n
      redis.call('SET', KEYS[1], last)
    end
  end
end
local out = {}
for i = 1, n do
  local seq = last - n + i
  local body = '{"seq":' .. seq .. ',' .. string.sub(ARGV[i + 1], 2)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'e', body)
  out[i] = body
end
redis.call('PUBLISH', KEYS[3], '[' .. table.concat(out, ',') .. ']')
return last
"""

# A socket is let in if the room and the person are under their limits on every process together (KEYS: the
# room's sockets, the person's sockets in the room: sorted sets of lease -> expiry in ms; ARGV: now, the new lease's
# expiry, the lease, the room's limit, the person's). 0: in; 1: the room is full; 2: the person has enough. A lease
# its process stops renewing (the process died) stops counting when it expires.
_ADMIT = """
for _, key in ipairs(KEYS) do redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1]) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[3])
  redis.call('PEXPIREAT', key, ARGV[2])
end
return 0
"""
SOCKET_LEASE_S = 30.0  # a socket counts against the limits this long after its process last renewed it
SOCKET_RENEW_S = 10.0

# A socket arrives (KEYS: conns hash, the person's "gone" marker, their "removed" marker; ARGV: user id). 1:
# announce a join (their first socket anywhere, and not back within the grace of a leave; one who was removed from
# the room, kicked say, and joined again, is a join even within the grace).
_ARRIVE = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], 86400)
if n == 1 then
  local removed = redis.call('DEL', KEYS[3])
  if redis.call('DEL', KEYS[2]) == 1 and removed == 0 then return 0 end
  return 1
end
return 0
"""

# A socket is gone (ARGV: user id, a token, the marker's lifetime in ms). 1: it was their last one anywhere; the
# marker holds the token, and the leave is due after the grace unless they come back.
_DEPART = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

# The grace is over (ARGV: the token): 1 if the marker is still ours, i.e. they did not come back.
_LEAVE_DUE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

Loader = Callable[[int], Awaitable[engine.RoomState | None]]
PlaybackSink = Callable[[int, engine.Playback], Awaitable[None]]


class LiveRoomGone(Exception):
    """The room no longer exists in the database: its live state cannot be rebuilt."""


def encode_state(state: engine.RoomState) -> bytes:
    """orjson writes the frozen dataclasses itself (as dicts of their fields), in native code: a full room of 500
    viewers encodes in about 0.1 ms, where dataclasses.asdict took milliseconds on every command."""
    waiting = state.waiting
    return orjson.dumps(
        {
            "epoch": state.epoch,
            "playback": state.playback,
            "viewers": list(state.viewers.values()),
            "waiting": None
            if waiting is None
            else {"since": waiting.since, "deadline": waiting.deadline, "buffering": sorted(waiting.buffering)},
            "openControl": state.open_control,
            "after": state.after,
            "queueVersion": state.queue_version,
            "skipRatio": state.skip_ratio,
            "membersAdd": state.members_add,
            "skipVotes": sorted(state.skip_votes),
        }
    )


def decode_state(raw: bytes | str) -> engine.RoomState:
    data = orjson.loads(raw)
    w = data["waiting"]
    return engine.RoomState(
        playback=engine.Playback(**data["playback"]),
        viewers={v["user_id"]: engine.Viewer(**v) for v in data["viewers"]},
        waiting=None
        if w is None
        else engine.Waiting(since=w["since"], deadline=w["deadline"], buffering=frozenset(w["buffering"])),
        open_control=data["openControl"],
        epoch=data.get("epoch", ""),
        after=None if data.get("after") is None else engine.Item(**data["after"]),
        queue_version=data.get("queueVersion", 0),
        skip_ratio=data.get("skipRatio", 0.5),
        members_add=data.get("membersAdd", False),
        skip_votes=frozenset(data.get("skipVotes", ())),
    )


def wire(event: engine.Event) -> dict[str, Any] | None:
    """An engine event as a room-wide message (numbered when emitted); None for replies to one viewer."""
    match event:
        case engine.StateChanged(playback, execute_at, cause, by):
            return {
                "type": "state",
                "state": protocol.state(playback),
                "executeAt": protocol.ms(execute_at),
                "cause": cause,
                "by": by,
            }
        case engine.WaitingStarted(buffering, deadline):
            return {"type": "waiting", "buffering": sorted(buffering), "deadline": protocol.ms(deadline)}
        case engine.WaitingEnded(reason, laggards):
            return {"type": "waitingEnded", "reason": reason, "laggards": sorted(laggards)}
        case engine.RoleChanged(target, role, by):
            return {"type": "role", "userId": target, "role": role, "by": by}
        case engine.ControlChanged(open_, by):
            return {"type": "control", "open": open_, "by": by}
        case engine.SkipVotes(item_id, voters, needed):
            return {"type": "skipVotes", **protocol.skip_votes(item_id, voters, needed)}
    return None


def _item(item: LiveItem | None) -> engine.Item | None:
    return None if item is None else engine.Item(item.item_id, item.media_id, item.duration)


class Hub:
    """One per process. `load` rebuilds a missing live room from the database; `store_playback` records the
    playback a command or the end of the media set (both None in tests of the hub alone)."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        params: engine.SyncParams,
        clock: Callable[[], float],
        *,
        load: Loader | None = None,
        store_playback: PlaybackSink | None = None,
    ):
        self.redis = client
        self.prefix = prefix
        self.params = params
        self.clock = clock
        self.load = load
        self.store_playback = store_playback
        self.local: dict[int, set[Any]] = {}  # room id -> connections (see ws.Connection)
        self.pubsub = client.pubsub()
        self._listener: asyncio.Task[None] | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # One writer per room in this process: compare-and-set then only ever races the other processes, so a
        # join storm of hundreds of sockets does not turn into hundreds of retries (see _transact).
        self._writing: dict[int, tuple[asyncio.Lock, int]] = {}  # room -> (lock, tasks using it)
        # The latest playback of each room with sockets here, kept from the room's own state events, so that a
        # position report (every viewer, every few seconds) costs no Redis read.
        self._playback: dict[int, engine.Playback] = {}
        # the rules of rooms with sockets here, for `you` updates: open control, and whether members add items
        self._open: dict[int, bool] = {}
        self._members_add: dict[int, bool] = {}
        # Skew figures wait here and go to Redis once a second, one write per room instead of one per report.
        self._skews: dict[int, dict[str, bytes]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._pushed: dict[int, bytes] = {}  # the sync summary each room's sockets here were last sent
        # The room state this process last read or wrote, with its bytes: a command on an unchanged room (the
        # common case: this process wrote last) skips decoding hundreds of viewers. The bytes are compared, so a
        # write from another process is always decoded afresh.
        self._decoded: dict[int, tuple[bytes, engine.RoomState]] = {}
        self._emit = client.register_script(_EMIT)
        self._arrive = client.register_script(_ARRIVE)
        self._admit = client.register_script(_ADMIT)
        self._depart = client.register_script(_DEPART)
        self._leave_due = client.register_script(_LEAVE_DUE)

    def key(self, room_id: int, what: str) -> str:
        return f"{self.prefix}:room:{room_id}:{what}"

    @property
    def control_channel(self) -> str:
        return f"{self.prefix}:control"

    # -- connections -------------------------------------------------------------------------------------------

    def _lease_keys(self, room_id: int, user_id: int) -> list[str]:
        return [self.key(room_id, "sockets"), self.key(room_id, f"sockets:{user_id}")]

    async def admit(self, room_id: int, user_id: int, lease: str, room_limit: int, user_limit: int) -> int:
        """Count a socket in against the room's and the person's limits on every process (0), or say which limit
        it meets (1: the room's, 2: the person's). Redis failing raises: the caller falls back to this process's
        own count."""
        now = int(time.time() * 1000)
        args: list[int | str] = [now, now + int(SOCKET_LEASE_S * 1000), lease, room_limit, user_limit]
        return int(await self._admit(keys=self._lease_keys(room_id, user_id), args=args))

    async def _release(self, room_id: int, user_id: int, lease: str) -> None:
        with contextlib.suppress(Exception):  # not released: it stops counting when its lease expires
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in self._lease_keys(room_id, user_id):
                    pipe.zrem(key, lease)
                await pipe.execute()

    async def _renew_leases_forever(self) -> None:
        """Every SOCKET_RENEW_S, the leases of this process's sockets run SOCKET_LEASE_S from now again."""
        while True:
            await asyncio.sleep(SOCKET_RENEW_S)
            expiry = int((time.time() + SOCKET_LEASE_S) * 1000)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for room_id, conns in self.local.items():
                        for conn in conns:
                            if conn.lease is None:
                                continue
                            for key in self._lease_keys(room_id, conn.user_id):
                                pipe.zadd(key, {conn.lease: expiry}, xx=True)
                                pipe.pexpireat(key, expiry)
                    await pipe.execute()
            except Exception as exc:  # the next round tries again; a lease outlives two missed rounds
                log.warning("sync hub: socket leases not renewed: %s", exc)

    def reserve(self, room_id: int, conn: Any) -> bool:
        """Count the connection in, at once (no await: a limit checked just before cannot be raced past). Returns
        whether it is this process's first in the room, which then subscribes to its events (`subscribe`)."""
        conns = self.local.setdefault(room_id, set())
        conns.add(conn)
        return len(conns) == 1

    async def subscribe(self, room_id: int) -> None:
        await self.pubsub.subscribe(self.key(room_id, "events"))

    async def detach(self, room_id: int, conn: Any) -> None:
        conns = self.local.get(room_id)
        if conns is None:
            return
        if conn in conns and conn.lease is not None:
            await self._release(room_id, conn.user_id, conn.lease)
        conns.discard(conn)
        if not conns:
            del self.local[room_id]
            self._playback.pop(room_id, None)
            self._decoded.pop(room_id, None)
            self._open.pop(room_id, None)
            self._members_add.pop(room_id, None)
            self._pushed.pop(room_id, None)
            with contextlib.suppress(Exception):
                await self.pubsub.unsubscribe(self.key(room_id, "events"))

    async def start(self) -> None:
        await self.pubsub.subscribe(self.control_channel)
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="sync-hub")
        self._flusher = asyncio.get_running_loop().create_task(self._flush_skews_forever(), name="sync-skew")
        self._spawn(self._renew_leases_forever())

    async def _listen(self) -> None:
        failing_since: float | None = None
        while True:
            try:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:  # a Redis hiccup: keep listening; the stream lets clients catch up
                if failing_since is None:  # one warning an outage, not one every half second
                    failing_since = time.monotonic()
                    log.warning("sync hub: pub/sub read failed (retrying every 0.5 s): %s", exc)
                await asyncio.sleep(0.5)
                continue
            if failing_since is not None:
                log.warning(
                    "sync hub: pub/sub is back after %.1f s; this process's sockets reconnect to catch up",
                    time.monotonic() - failing_since,
                )
                failing_since = None
                self._catch_up()
            if message is None:
                continue
            channel = _text(message["channel"])
            try:
                if channel == self.control_channel:
                    self._control(orjson.loads(message["data"]))
                else:
                    self._fan_out(int(channel.rsplit(":", 2)[-2]), message["data"])
            except Exception:  # one bad message never stops the listener
                log.exception("sync hub: message on %s not handled", channel)

    def _catch_up(self) -> None:
        """After a gap in pub/sub, this process may have missed any room's events, and a `_reset` among them (Redis
        restarted empty: the rooms' next events are numbered afresh in a new epoch, which the sockets here would
        drop as already seen). It cannot tell what it missed, so every socket here is told to reconnect at once
        (1012): a resume replays what the stream still holds, and otherwise the welcome is fresh."""
        for room_id, conns in self.local.items():
            self._playback.pop(room_id, None)
            self._decoded.pop(room_id, None)
            for conn in list(conns):
                conn.kick(protocol.CLOSE_RESTART)

    def _control(self, op: dict[str, Any]) -> None:
        """Kicks, closes and revocations: they reach the sockets here, apart from the rooms' numbered events."""
        user_id, room_id, code = op.get("userId"), op.get("roomId"), int(op["code"])
        rooms = [room_id] if room_id is not None else list(self.local)
        for room in rooms:
            for conn in list(self.local.get(room, ())):
                if user_id is None or conn.user_id == user_id:
                    if op.get("error"):  # why, before the close
                        conn.send(op["error"])
                    conn.kick(code)

    def _fan_out(self, room_id: int, payload: bytes) -> None:
        conns = self.local.get(room_id, ())
        for item in orjson.loads(payload):
            kind = item.get("type")
            if kind == "_reset":  # the live room was rebuilt: sockets of an older generation start again
                self._playback.pop(room_id, None)
                self._decoded.pop(room_id, None)
                for conn in list(conns):
                    if conn.epoch is not None and conn.epoch != item["epoch"]:
                        conn.kick(protocol.CLOSE_RESTART)
                continue
            if kind == "state":
                self._remember(room_id, protocol.playback_from_wire(item["state"]))
                self._arm_timer(room_id)
            elif kind == "playlist":  # what comes next may have changed, and with it the moment to move on
                self._arm_timer(room_id)
            data = orjson.dumps(item)
            for conn in list(conns):
                conn.deliver(data, item.get("seq", 0))
            if kind == "control":
                self._open[room_id] = bool(item["open"])
                for conn in list(conns):
                    self._tell_you(room_id, conn)
            elif kind == "role":
                for conn in list(conns):
                    if conn.user_id == item["userId"]:
                        conn.role = item["role"]
                        self._tell_you(room_id, conn)
            elif kind == "playlist" and self._members_add.get(room_id) != item["membersAdd"]:
                known = room_id in self._members_add
                self._members_add[room_id] = bool(item["membersAdd"])
                if known:
                    for conn in list(conns):
                        self._tell_you(room_id, conn)

    def _tell_you(self, room_id: int, conn: Any) -> None:
        if conn.held is None:  # welcomed: the welcome itself carried what it may do
            open_, add = self._open.get(room_id, False), self._members_add.get(room_id, False)
            conn.send(protocol.you(conn.user_id, conn.role, open_control=open_, members_add=add))

    # -- state -------------------------------------------------------------------------------------------------

    async def snapshot(self, room_id: int) -> tuple[engine.RoomState, int]:
        """The live state and the number of the last event, read together (one MGET)."""
        raw, seq = await self.redis.mget(self.key(room_id, "state"), self.key(room_id, "seq"))
        state = self._decode(room_id, raw) if raw is not None else engine.RoomState()
        if room_id in self.local:
            self._open[room_id] = state.open_control
            self._members_add[room_id] = state.members_add
        return state, int(seq or 0)

    def _decode(self, room_id: int, raw: bytes | str) -> engine.RoomState:
        if isinstance(raw, str):
            raw = raw.encode()
        known = self._decoded.get(room_id)
        if known is not None and known[0] == raw:
            return known[1]
        state = decode_state(raw)
        if room_id in self.local:
            self._decoded[room_id] = (raw, state)
        return state

    def _remember(self, room_id: int, playback: engine.Playback) -> None:
        if room_id not in self.local:
            return
        known = self._playback.get(room_id)
        if known is None or playback.version > known.version:  # a late snapshot never undoes a newer event
            self._playback[room_id] = playback

    async def playback(self, room_id: int) -> engine.Playback:
        """The room's playback as of the last state event this process has seen (Redis only the first time)."""
        known = self._playback.get(room_id)
        if known is not None:
            return known
        state, _ = await self.snapshot(room_id)
        self._remember(room_id, state.playback)
        return state.playback

    async def _rebuild(self, room_id: int) -> engine.RoomState:
        """The live room from the database's facts, in a new generation; LiveRoomGone if the room is gone."""
        epoch = secrets.token_hex(4)
        if self.load is None:
            return engine.RoomState(epoch=epoch)
        state = await self.load(room_id)
        if state is None:
            raise LiveRoomGone(room_id)
        log.info("room %s: live state rebuilt from the database (epoch %s)", room_id, epoch)
        return replace(state, viewers={}, waiting=None, skip_votes=frozenset(), epoch=epoch)

    async def apply(
        self, room_id: int, message: engine.Message, notices: list[dict[str, Any]] | None = None
    ) -> list[engine.Event]:
        """Run the engine on the room's state and publish what happened, with `notices` (room-wide messages that
        must reach the room in the same batch, such as the `playlist` event of the change); compare-and-set, so
        that concurrent messages on any number of processes apply one after another. Returns the events
        (rejections included)."""
        result: list[engine.Event] = []
        extra = notices or []

        params = await self.params_for(room_id) if isinstance(message, engine.Command) else self.params

        def change(state: engine.RoomState) -> tuple[engine.RoomState, list[dict[str, Any]]] | None:
            new, events = engine.step(state, message, self.clock(), params)
            result[:] = events
            if new == state and not events and not extra:
                return None
            return new, [*(item for event in events if (item := wire(event)) is not None), *extra]

        await self._transact(room_id, change)
        if self.store_playback is not None and not isinstance(message, engine.SetMedia):  # a flow stored those
            for event in result:
                if isinstance(event, engine.StateChanged) and event.cause in ("command", "ended", "advance", "skip"):
                    try:
                        await self.store_playback(room_id, event.playback)
                    except Exception:  # the live room has it; the database catches up with the next command
                        log.warning("room %s: playback not recorded", room_id, exc_info=True)
        return result

    async def publish(self, room_id: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Room-wide messages that are not engine events (chat, presence): numbered, streamed, published. They
        never touch the state."""
        if not items:
            return []
        last = int(await self._emit(keys=self._emit_keys(room_id), args=[STREAM_MAXLEN, *map(orjson.dumps, items)]))
        return _numbered(items, last)

    def _emit_keys(self, room_id: int) -> list[str]:
        return [self.key(room_id, "seq"), self.key(room_id, "stream"), self.key(room_id, "events")]

    async def _transact(
        self, room_id: int, change: Callable[[engine.RoomState], tuple[engine.RoomState, list[dict[str, Any]]] | None]
    ) -> list[dict[str, Any]]:
        lock, users = self._writing.get(room_id) or (asyncio.Lock(), 0)
        self._writing[room_id] = (lock, users + 1)
        try:
            async with lock:
                return await self._compare_and_set(room_id, change)
        finally:
            lock, users = self._writing[room_id]
            if users == 1:  # the last one out: no lock kept for every room ever seen
                del self._writing[room_id]
            else:
                self._writing[room_id] = (lock, users - 1)

    async def _compare_and_set(
        self, room_id: int, change: Callable[[engine.RoomState], tuple[engine.RoomState, list[dict[str, Any]]] | None]
    ) -> list[dict[str, Any]]:
        """Read the room, change it, and write it back only if nobody else wrote in between (else again); a
        missing room is rebuilt first. The change's messages are numbered, streamed and published in the same
        transaction."""
        key = self.key(room_id, "state")
        for attempt in range(100):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    rebuilt = raw is None
                    state = await self._rebuild(room_id) if raw is None else self._decode(room_id, raw)
                    changed = change(state)
                    if changed is None and not rebuilt:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return []
                    new, items = changed if changed is not None else (state, [])
                    encoded = encode_state(new)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, encoded)
                    if rebuilt:  # on the room's channel, so that it is ordered with the room's events
                        pipe.publish(
                            self.key(room_id, "events"), orjson.dumps([{"type": "_reset", "epoch": new.epoch}])
                        )
                    if items:  # EVAL, not EVALSHA: inside MULTI a script the server lost would fail after the SET
                        pipe.eval(_EMIT, 3, *self._emit_keys(room_id), STREAM_MAXLEN, *map(orjson.dumps, items))
                    results = await pipe.execute()
                    if room_id in self.local:
                        self._decoded[room_id] = (encoded, new)
                    return _numbered(items, int(results[-1])) if items else []
                except WatchError:  # another process wrote first: again, after a random pause that breaks lockstep
                    await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))  # noqa: S311 - jitter
        raise RuntimeError(f"room {room_id}: too much contention")

    # -- durable changes, from the room flows (core.realtime.LiveRooms) ------------------------------------------

    async def change(self, room_id: int, change: RoomChange, by: int | None) -> None:
        match change:
            case MediaSet(media_id, duration, item_id, after, autoplay, version, cause, notice):
                media = engine.SetMedia(media_id, duration, by, item_id, _item(after), autoplay, version, cause)
                await self.apply(room_id, media, [notice] if notice else None)
            case QueueSet(after, version, ratio, members_add, notice):
                queue = engine.SetQueue(_item(after), version, ratio, members_add)
                await self.apply(room_id, queue, [notice] if notice else None)
            case RoleSet(user_id, role):
                await self.apply(room_id, engine.AssignRole(user_id, role, by))  # type: ignore[arg-type]
            case ControlSet(open_):
                await self.apply(room_id, engine.AssignControl(open_, by))
            case MemberGone(user_id, error):
                op: dict[str, Any] = {"roomId": room_id, "userId": user_id, "code": protocol.CLOSE_NOT_MEMBER}
                if error is not None:
                    op["error"] = protocol.error(*error)
                removed = self.key(room_id, f"removed:{user_id}")  # back within the grace: still a join
                await self.redis.set(removed, 1, px=int((PRESENCE_GRACE + 30) * 1000))
                await self._send_control(op)
                with contextlib.suppress(LiveRoomGone):
                    await self.apply(room_id, engine.Leave(user_id))
            case RoomGone():
                await self._send_control({"roomId": room_id, "code": protocol.CLOSE_NOT_MEMBER})
                await self.redis.delete(*(self.key(room_id, k) for k in ("state", "seq", "stream", "conns", "skew")))

    async def revoke_user(self, user_id: int) -> None:
        await self._send_control({"userId": user_id, "code": protocol.CLOSE_SESSION_ENDED})

    async def _send_control(self, op: dict[str, Any]) -> None:
        await self.redis.publish(self.control_channel, orjson.dumps(op))

    # -- presence, per person over every process -----------------------------------------------------------------

    async def arrive(self, room_id: int, user_id: int) -> bool:
        """A socket of this person is in the room; True if that is a join (their first socket anywhere, not a
        reconnect within the grace)."""
        keys = [self.key(room_id, k) for k in ("conns", f"gone:{user_id}", f"removed:{user_id}")]
        return bool(await self._arrive(keys=keys, args=[user_id]))

    async def depart(self, room_id: int, user_id: int, username: str) -> None:
        """A socket of this person is gone. After the last one anywhere, and a grace in which they do not come
        back, they leave the room: one `presence` leave."""
        token = secrets.token_hex(8)
        gone = self.key(room_id, f"gone:{user_id}")
        keys = [self.key(room_id, "conns"), gone]
        if not await self._depart(keys=keys, args=[user_id, token, int((PRESENCE_GRACE + 30) * 1000)]):
            return

        async def later() -> None:
            await asyncio.sleep(PRESENCE_GRACE)
            try:
                if not await self._leave_due(keys=[gone], args=[token]):
                    return  # back in time: neither a leave nor a join
                with contextlib.suppress(LiveRoomGone):
                    await self.apply(room_id, engine.Leave(user_id))
                await self.publish(
                    room_id, [{"type": "presence", "event": "leave", "user": {"id": user_id, "username": username}}]
                )
            except Exception as exc:
                log.warning("room %s: leave of user %s not announced: %s", room_id, user_id, exc)

        self._spawn(later())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- telemetry ---------------------------------------------------------------------------------------------

    def record_skew(
        self, room_id: int, user_id: int, skew_ms: float, rtt_ms: float, *, buffering: bool,
        startup_ms: float | None = None,
    ) -> None:  # fmt: skip
        """The latest skew per viewer (and its RTT, and what its player needs to start on time: its start-up
        and the one-way trip), for the telemetry, the viewers' sync status and the room's lead; written within a
        second."""
        need = None if startup_ms is None else round(startup_ms + rtt_ms / 2, 1)
        figures = orjson.dumps(
            {"skewMs": round(skew_ms, 1), "rttMs": round(rtt_ms, 1), "buffering": buffering, "at": self.clock(),
             "needMs": need}
        )  # fmt: skip
        self._skews.setdefault(room_id, {})[str(user_id)] = figures

    async def params_for(self, room_id: int) -> engine.SyncParams:
        """The room's lead grows with its slowest player (ADR 0019): a change is scheduled far enough ahead for
        every viewer that reported in the last 10 s to start on time (its start-up plus its one-way trip, and
        100 ms to spare), from `lead_ms` up to MAX_LEAD_MS. Without reports (or Redis), the default."""
        try:
            stored = await self.redis.hgetall(self.key(room_id, "skew"))
        except Exception:  # a slower start for some; never a refused command
            stored = {}
        figures = [*stored.values(), *self._skews.get(room_id, {}).values()]
        now, needs = self.clock(), []
        for raw in figures:
            f = orjson.loads(raw)
            if f.get("needMs") is not None and now - float(f.get("at", 0)) <= 10:
                needs.append(float(f["needMs"]))
        lead = min(MAX_LEAD_MS, max([self.params.lead_ms, *(round(n) + 100 for n in needs)]))
        return self.params if lead == self.params.lead_ms else dataclasses.replace(self.params, lead_ms=lead)

    async def flush_skews(self) -> None:
        pending, self._skews = self._skews, {}
        if not pending:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id, figures in pending.items():
                pipe.hset(self.key(room_id, "skew"), mapping=figures)  # type: ignore[arg-type]
                pipe.expire(self.key(room_id, "skew"), 3600)
            await pipe.execute()

    async def _flush_skews_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.flush_skews()
                await self.push_sync_status()
            except Exception as exc:  # telemetry may lose a second; it never stops the room
                log.warning("sync hub: skew figures not written or sent: %s", exc)

    async def push_sync_status(self) -> None:
        """Each room's skew summary to its sockets on this process, at most once a second and only when it changed
        (the figures, not their age), so that pages need not poll GET /sync-stats."""
        for room_id in list(self.local):
            summary = await self.skew(room_id)
            figures = orjson.dumps(
                [(v["userId"], v["skewMs"], v["buffering"]) for v in summary["perViewer"]], option=orjson.OPT_SORT_KEYS
            )
            if self._pushed.get(room_id) == figures:
                continue
            self._pushed[room_id] = figures
            data = orjson.dumps({"type": "sync", **summary})
            for conn in list(self.local.get(room_id, ())):
                if conn.held is None:
                    conn.deliver(data, 0, live=False)

    async def skew(self, room_id: int) -> dict[str, Any]:
        """p50/p95/max of the viewers' latest skews, and each viewer's own figures (with how old they are)."""
        raw: Any = await self.redis.hgetall(self.key(room_id, "skew"))
        now = self.clock()
        each = []
        for user_id, value in raw.items():
            figures = orjson.loads(value)
            each.append(
                {
                    "userId": int(user_id),
                    "skewMs": figures["skewMs"],
                    "rttMs": figures["rttMs"],
                    "buffering": figures.get("buffering", False),
                    "ageMs": round(max(0.0, now - figures.get("at", now)) * 1000),
                }
            )
        values = sorted(abs(v["skewMs"]) for v in each)
        if not values:
            return {"viewers": 0, "perViewer": []}

        def pick(q: float) -> float:
            return float(values[min(len(values) - 1, int(q * len(values)))])

        each.sort(key=lambda v: v["userId"])
        return {"viewers": len(values), "p50Ms": pick(0.5), "p95Ms": pick(0.95), "maxMs": values[-1], "perViewer": each}

    # -- resume ------------------------------------------------------------------------------------------------

    async def missed(self, room_id: int, after_seq: int, epoch: str | None) -> list[bytes] | None:
        """Every event after `after_seq` of generation `epoch`, or None when a fresh welcome is due: another
        generation (the live room was rebuilt), a number the room has not reached, or events the stream no
        longer holds."""
        state, seq = await self.snapshot(room_id)
        if epoch is None or epoch != state.epoch or after_seq > seq:
            return None
        if after_seq == seq:
            return []
        entries: Any = await self.redis.xrange(self.key(room_id, "stream"), min=f"{after_seq + 1}-0", max="+")
        if not entries or int(_text(entries[0][0]).split("-")[0]) != after_seq + 1:
            return None
        return [bytes(fields[b"e"]) for _, fields in entries]

    # -- timers ------------------------------------------------------------------------------------------------

    def _arm_timer(self, room_id: int) -> None:
        """While a room waits, or plays media of a known length, every process with viewers there fires a Tick at
        the next deadline (the Waiting's, or the end of the media); the first one wins."""

        async def read_and_arm() -> None:
            state, _ = await self.snapshot(room_id)
            self.arm(room_id, engine.next_deadline(state, self.params))

        self._spawn(read_and_arm())

    def arm(self, room_id: int, deadline: float | None) -> None:
        old = self._timers.pop(room_id, None)
        if old:
            old.cancel()
        if deadline is None or room_id not in self.local:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(room_id, None)
            self._spawn(self._tick(room_id))

        self._timers[room_id] = loop.call_later(max(0.0, deadline - self.clock()) + 0.01, fire)

    async def _tick(self, room_id: int) -> None:
        try:
            await self.apply(room_id, engine.Tick())
        except Exception as exc:
            log.warning("room %s: timer failed: %s", room_id, exc)

    async def close(self) -> None:
        for conns in self.local.values():
            for conn in list(conns):
                conn.kick(protocol.CLOSE_GOING_AWAY)
        for timer in self._timers.values():
            timer.cancel()
        for task in (self._listener, self._flusher, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._listener, self._flusher, *self._tasks) if t), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.flush_skews()
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]


def _numbered(items: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    first = last - len(items) + 1
    return [{"seq": first + i, **item} for i, item in enumerate(items)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
