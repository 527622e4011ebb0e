"""Rooms across processes. The room's engine state lives in Redis and changes by compare-and-set (WATCH/MULTI),
so commands from any process are ordered; events go to a bounded Redis Stream per room (for resume) and out by
pub/sub to every process, which hands them to its local sockets through bounded queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from watchparty.sync import engine, protocol

log = logging.getLogger("watchparty.sync")

STREAM_MAXLEN = 1000


def encode_state(state: engine.RoomState, seq: int) -> bytes:
    """orjson writes the frozen dataclasses itself (as dicts of their fields), in native code: a full room of 500
    viewers encodes in about 0.1 ms, where dataclasses.asdict took milliseconds on every command."""
    waiting = state.waiting
    return orjson.dumps(
        {
            "seq": seq,
            "playback": state.playback,
            "viewers": list(state.viewers.values()),
            "waiting": None
            if waiting is None
            else {"since": waiting.since, "deadline": waiting.deadline, "buffering": sorted(waiting.buffering)},
            "openControl": state.open_control,
        }
    )


def decode_state(raw: bytes | str | None) -> tuple[engine.RoomState, int]:
    if not raw:
        return engine.RoomState(), 0
    data = orjson.loads(raw)
    w = data["waiting"]
    state = engine.RoomState(
        playback=engine.Playback(**data["playback"]),
        viewers={v["user_id"]: engine.Viewer(**v) for v in data["viewers"]},
        waiting=None
        if w is None
        else engine.Waiting(since=w["since"], deadline=w["deadline"], buffering=frozenset(w["buffering"])),
        open_control=data["openControl"],
    )
    return state, int(data["seq"])


def wire(event: engine.Event, seq: int) -> dict[str, Any] | None:
    """An engine event as a room-wide message; None for replies to one viewer (rejections)."""
    match event:
        case engine.StateChanged(playback, execute_at, cause, by):
            return {
                "type": "state",
                "seq": seq,
                "state": protocol.state(playback),
                "executeAt": protocol.ms(execute_at),
                "cause": cause,
                "by": by,
            }
        case engine.WaitingStarted(buffering, deadline):
            return {"type": "waiting", "seq": seq, "buffering": sorted(buffering), "deadline": protocol.ms(deadline)}
        case engine.WaitingEnded(reason, laggards):
            return {"type": "waitingEnded", "seq": seq, "reason": reason, "laggards": sorted(laggards)}
        case engine.RoleChanged(target, role, by):
            return {"type": "role", "seq": seq, "userId": target, "role": role, "by": by}
        case engine.ControlChanged(open_, by):
            return {"type": "control", "seq": seq, "open": open_, "by": by}
    return None


class Hub:
    """One per process."""

    def __init__(self, client: aioredis.Redis, prefix: str, params: engine.SyncParams, clock: Callable[[], float]):
        self.redis = client
        self.prefix = prefix
        self.params = params
        self.clock = clock
        self.local: dict[int, set[Any]] = {}  # room id -> connections (anything with deliver(bytes, seq))
        self.pubsub = client.pubsub()
        self._listener: asyncio.Task[None] | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # One writer per room in this process: compare-and-set then only ever races the other processes, so a
        # join storm of hundreds of sockets does not turn into hundreds of retries (see _transact).
        self._writing: dict[int, tuple[asyncio.Lock, int]] = {}  # room -> (lock, tasks using it)
        # The latest playback of each room with sockets here, kept from the room's own state events, so that a
        # position report (every viewer, every few seconds) costs no Redis read.
        self._playback: dict[int, engine.Playback] = {}
        # Skew figures wait here and go to Redis once a second, one write per room instead of one per report.
        self._skews: dict[int, dict[str, bytes]] = {}
        self._flusher: asyncio.Task[None] | None = None
        # The room state this process last read or wrote, with its bytes: a command on an unchanged room (the
        # common case: this process wrote last) skips decoding hundreds of viewers. The bytes are compared, so a
        # write from another process is always decoded afresh.
        self._decoded: dict[int, tuple[bytes, engine.RoomState, int]] = {}

    def key(self, room_id: int, what: str) -> str:
        return f"{self.prefix}:room:{room_id}:{what}"

    # -- connections -------------------------------------------------------------------------------------------

    async def attach(self, room_id: int, conn: Any) -> None:
        conns = self.local.setdefault(room_id, set())
        conns.add(conn)
        if len(conns) == 1:
            await self.pubsub.subscribe(self.key(room_id, "events"))

    async def detach(self, room_id: int, conn: Any) -> None:
        conns = self.local.get(room_id)
        if conns is None:
            return
        conns.discard(conn)
        if not conns:
            del self.local[room_id]
            self._playback.pop(room_id, None)
            self._decoded.pop(room_id, None)
            with contextlib.suppress(Exception):
                await self.pubsub.unsubscribe(self.key(room_id, "events"))

    async def start(self) -> None:
        await self.pubsub.subscribe(self.sessions_channel)
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="sync-hub")
        self._flusher = asyncio.get_running_loop().create_task(self._flush_skews_forever(), name="sync-skew")

    @property
    def sessions_channel(self) -> str:
        return f"{self.prefix}:sessions"

    async def revoke_user(self, user_id: int) -> None:
        await self.redis.publish(self.sessions_channel, orjson.dumps({"userId": user_id}))

    async def _listen(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:  # a Redis hiccup: keep listening; the stream lets clients catch up
                log.warning("sync hub: pub/sub read failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = _text(message["channel"])
            if channel == self.sessions_channel:
                user_id = orjson.loads(message["data"])["userId"]
                for conns in list(self.local.values()):
                    for conn in list(conns):
                        if conn.user_id == user_id:
                            conn.kick(protocol.CLOSE_SESSION_ENDED)
                continue
            room_id = int(channel.rsplit(":", 2)[-2])
            self._fan_out(room_id, message["data"])

    def _fan_out(self, room_id: int, payload: bytes) -> None:
        for item in orjson.loads(payload):
            if item.get("type") == "_kick":
                for conn in list(self.local.get(room_id, ())):
                    if conn.user_id == item["userId"]:
                        conn.kick(item["code"])
                continue
            if item.get("type") == "state":
                self._remember(room_id, protocol.playback_from_wire(item["state"]))
                self._arm_timer(room_id)
            data = orjson.dumps(item)
            for conn in list(self.local.get(room_id, ())):
                conn.deliver(data, item.get("seq", 0))

    # -- state -------------------------------------------------------------------------------------------------

    async def snapshot(self, room_id: int) -> tuple[engine.RoomState, int]:
        return self._decode(room_id, await self.redis.get(self.key(room_id, "state")))

    def _decode(self, room_id: int, raw: bytes | str | None) -> tuple[engine.RoomState, int]:
        if isinstance(raw, str):
            raw = raw.encode()
        known = self._decoded.get(room_id)
        if known is not None and raw is not None and known[0] == raw:
            return known[1], known[2]
        state, seq = decode_state(raw)
        if raw is not None and room_id in self.local:
            self._decoded[room_id] = (raw, state, seq)
        return state, seq

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

    async def apply(self, room_id: int, message: engine.Message) -> list[engine.Event]:
        """Run the engine on the room's state and publish what happened; compare-and-set, so that concurrent
        messages on any number of processes apply one after another. Returns the events (rejections included)."""
        result: list[engine.Event] = []

        def change(state: engine.RoomState, seq: int) -> tuple[engine.RoomState, list[dict[str, Any]]] | None:
            new, events = engine.step(state, message, self.clock(), self.params)
            result[:] = events
            if new == state and not events:
                return None
            items = [item for event in events if (item := wire(event, 0)) is not None]
            return new, items

        await self._transact(room_id, change)
        return result

    async def publish(self, room_id: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Room-wide messages that are not engine events (chat, presence): numbered, streamed, published."""
        return await self._transact(room_id, lambda state, _seq: (state, items))

    async def _transact(
        self,
        room_id: int,
        change: Callable[[engine.RoomState, int], tuple[engine.RoomState, list[dict[str, Any]]] | None],
    ) -> list[dict[str, Any]]:
        """Read the room, change it, and write it back only if nobody else wrote in between (else again).
        The change's messages get the next sequence numbers, go to the stream, and are published."""
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
        self,
        room_id: int,
        change: Callable[[engine.RoomState, int], tuple[engine.RoomState, list[dict[str, Any]]] | None],
    ) -> list[dict[str, Any]]:
        key = self.key(room_id, "state")
        for attempt in range(100):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    state, seq = self._decode(room_id, await pipe.get(key))
                    changed = change(state, seq)
                    if changed is None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return []
                    new, items = changed
                    numbered = [{**item, "seq": seq + i} for i, item in enumerate(items, start=1)]
                    raw = encode_state(new, seq + len(numbered))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, raw)
                    self._record(pipe, room_id, numbered)
                    await pipe.execute()
                    if room_id in self.local:
                        self._decoded[room_id] = (raw, new, seq + len(numbered))
                    return numbered
                except WatchError:  # another process wrote first: again, after a random pause that breaks lockstep
                    await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))  # noqa: S311 - jitter
        raise RuntimeError(f"room {room_id}: too much contention")

    def _record(self, pipe: Any, room_id: int, items: list[dict[str, Any]]) -> None:
        for item in items:
            pipe.xadd(
                self.key(room_id, "stream"),
                {"e": orjson.dumps(item)},
                id=f"{item['seq']}-0",
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        if items:
            pipe.publish(self.key(room_id, "events"), orjson.dumps(items))

    async def count_connection(self, room_id: int, user_id: int, delta: int) -> None:
        """Sockets per user and room, over every process: presence leaves only when the last one is gone."""
        key = self.key(room_id, "conns")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, str(user_id), delta)
            pipe.expire(key, 24 * 3600)
            await pipe.execute()

    async def still_connected_elsewhere(self, room_id: int, user_id: int) -> bool:
        value = await self.redis.hget(self.key(room_id, "conns"), str(user_id))
        return value is not None and int(value) > 0

    def record_skew(self, room_id: int, user_id: int, skew_ms: float, rtt_ms: float, *, buffering: bool) -> None:
        """The latest skew per viewer (and its RTT), for the telemetry and the viewers' sync status; written
        within a second."""
        figures = orjson.dumps(
            {"skewMs": round(skew_ms, 1), "rttMs": round(rtt_ms, 1), "buffering": buffering, "at": self.clock()}
        )
        self._skews.setdefault(room_id, {})[str(user_id)] = figures

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
            except Exception as exc:  # telemetry may lose a second; it never stops the room
                log.warning("sync hub: skew figures not written: %s", exc)

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

    async def kick(self, room_id: int, user_id: int, code: int) -> None:
        await self.redis.publish(
            self.key(room_id, "events"), orjson.dumps([{"type": "_kick", "userId": user_id, "code": code}])
        )

    async def missed(self, room_id: int, after_seq: int) -> list[bytes] | None:
        """Every event after `after_seq`, or None if the stream no longer holds them all."""
        entries: Any = await self.redis.xrange(self.key(room_id, "stream"), min=f"{after_seq + 1}-0", max="+")
        if not entries:
            _, seq = await self.snapshot(room_id)
            return [] if seq <= after_seq else None
        first = int(_text(entries[0][0]).split("-")[0])
        if first != after_seq + 1:
            return None
        return [bytes(fields[b"e"]) for _, fields in entries]

    def _arm_timer(self, room_id: int) -> None:
        """While a room waits, every process with viewers there fires a Tick at the deadline; the first wins."""

        async def read_and_arm() -> None:
            state, _ = await self.snapshot(room_id)
            if state.waiting is None:
                return
            delay = max(0.0, state.waiting.deadline - self.clock()) + 0.01
            old = self._timers.pop(room_id, None)
            if old:
                old.cancel()
            loop = asyncio.get_running_loop()
            self._timers[room_id] = loop.call_later(delay, lambda: loop.create_task(self.apply(room_id, engine.Tick())))

        asyncio.get_running_loop().create_task(read_and_arm())

    async def close(self) -> None:
        for conns in self.local.values():
            for conn in list(conns):
                conn.kick(protocol.CLOSE_GOING_AWAY)
        for timer in self._timers.values():
            timer.cancel()
        for task in (self._listener, self._flusher):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.flush_skews()
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
