"""One viewer of a room over the realtime protocol: ticket, hello, clock sync, scheduled state changes, drift
correction, position reports, chat, buffering and resume. Optionally behind a simulated network link (latency
and jitter, order kept as TCP keeps it)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from watchparty.client.api import Api
from watchparty.client.clock import ClockSync
from watchparty.client.drift import Corrector, DriftParams
from watchparty.client.player import MediaPlayer, Player

PINGS_AT_START = 5
PINGS_EARLY, PING_EARLY_EVERY_S = 8, 2.0  # the next 16 s
PING_EVERY_S = 10.0
CORRECT_EVERY_S = 0.1
SETTLE_MS = 150.0  # after a scheduled change, look again this much later (and learn from what is seen)
SEEK_MARGIN = 1.3  # a paused seek is given this much more than its learned start-up before playing on
START_SLACK_MS = 20.0  # a start this late is still made as a play (a seek to catch up costs more than it saves)
PRELOAD_S = 10.0  # load the next playlist item this long before the current one ends


def wall_ms() -> float:
    return time.time() * 1000


def _position_at(st: dict[str, Any], server_ms: float) -> float:
    """The room's position (s) at a server time (ms), from a state message."""
    if st["paused"] or server_ms <= st["anchorServerTime"]:
        return float(st["position"])
    at = float(st["position"] + (server_ms - st["anchorServerTime"]) / 1000 * st["rate"])
    return min(at, st["duration"]) if st.get("duration") else at  # never past the end of the media


class Link:
    """A one-way network path: each message is delayed by latency ± jitter, and none overtakes another."""

    def __init__(self, latency_ms: float, jitter_ms: float, rng: random.Random) -> None:
        self.latency_ms, self.jitter_ms, self.rng = latency_ms, jitter_ms, rng
        self.last = 0.0

    def due(self, now: float) -> float:
        if self.latency_ms <= 0 and self.jitter_ms <= 0:
            return now
        delay = max(0.0, self.latency_ms + self.rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000
        self.last = max(self.last, now + delay)
        return self.last


@dataclass
class Closed:
    code: int | None
    reason: str


class Viewer:
    def __init__(
        self,
        base_url: str,
        room_id: int,
        token: str,
        player: Player,
        *,
        local_ms: Callable[[], float] = wall_ms,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        seed: int = 0,
        origin: str | None = None,
    ) -> None:
        self.base_url, self.room_id, self.token, self.player = base_url.rstrip("/"), room_id, token, player
        self.local_ms = local_ms
        self.origin = origin
        rng = random.Random(seed)
        self.up, self.down = Link(latency_ms, jitter_ms, rng), Link(latency_ms, jitter_ms, rng)
        self.clock = ClockSync()
        self.params = DriftParams()
        self.corrector = Corrector(self.params)
        # what the room told us
        self.user_id: int | None = None
        self.role: str | None = None
        self.playback: dict[str, Any] | None = None
        self.history: list[tuple[float, dict[str, Any]]] = []  # (executeAt server ms, state), for harnesses
        self.seq = 0
        self.epoch: str | None = None  # the live room's generation: a resume is only within one
        self.can: dict[str, bool] = {}  # what the room policy lets us do (welcome.you.can, then `you`)
        # the playlist, when the player changes media: GET .../playlist, kept current from `playlist` events
        self.playlist: dict[str, Any] | None = None
        self.loaded_media: int | None = None
        self._preloaded: int | None = None
        self._refetch: asyncio.Task[None] | None = None
        self.chat_seen: Counter[int] = Counter()
        self.chat: list[dict[str, Any]] = []
        self.messages: deque[dict[str, Any]] = deque(maxlen=5000)
        self.received = 0
        self.closed: Closed | None = None
        self.welcomed = asyncio.Event()
        self.message_arrived = asyncio.Event()
        # what we learned about our player: how long it takes to start moving after play and after seek
        self.play_delay_ms = 100.0
        self.seek_delay_ms = 150.0
        self.calibrated = False
        self._calibration: asyncio.Task[None] | None = None
        self.buffering = False
        self._settling_until = 0.0
        self._ws: ClientConnection | None = None
        self._out: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._apply_task: asyncio.Task[None] | None = None
        self._ping_id = 0
        self._pings: dict[int, float] = {}
        self._clock_ready = asyncio.Event()
        # how late this process woke for each scheduled play, pause and seek: (local ms it woke, ms late). A
        # harness that runs many viewers on busy cores reads it, to tell its own lateness from the protocol's
        self.wake_lateness: deque[tuple[float, float]] = deque(maxlen=1000)

    # -- connecting --------------------------------------------------------------------------------------------

    async def ticket(self) -> str:
        return await Api(self.base_url, self.token).ws_ticket(self.room_id)

    async def connect(self, *, resume: bool = True) -> None:
        """Connect (again). With `resume` and events seen before, the server replays what was missed."""
        ws_base = self.base_url.replace("http", "ws", 1)
        url = f"{ws_base}/api/rooms/{self.room_id}/ws?ticket={await self.ticket()}"
        self._ws = await websockets.connect(url, origin=self.origin, max_size=64 * 1024)  # type: ignore[arg-type]
        self.closed = None
        self._out = asyncio.Queue()
        hello: dict[str, Any] = {"type": "hello", "v": 1}
        resuming = resume and self.seq > 0
        if resuming:
            hello["lastSeq"], hello["epoch"] = self.seq, self.epoch
        else:
            self.welcomed.clear()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._reader(self._ws)),
            loop.create_task(self._sender(self._ws)),
            loop.create_task(self._pinger()),
            loop.create_task(self._reporter()),
            loop.create_task(self._correct_loop()),
        ]
        self.send(hello)
        if isinstance(self.player, MediaPlayer):
            self._refresh_playlist()
        if not resuming:
            async with asyncio.timeout(15):
                await self.welcomed.wait()

    async def disconnect(self) -> None:
        """Drop the connection (as a network loss would); the player goes on by itself."""
        for task in [*self._tasks, *([self._apply_task] if self._apply_task else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None

    close = disconnect

    @property
    def settled(self) -> bool:
        """Clock estimated and, if the room was paused on arrival, the player's start-up delays measured."""
        done = self._calibration is None or self._calibration.done()
        return self._clock_ready.is_set() and done and self.playback is not None

    @property
    def connected(self) -> bool:
        return self._ws is not None and self.closed is None

    # -- sending -----------------------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self._out.put_nowait((self.up.due(asyncio.get_running_loop().time()), orjson.dumps(message)))

    def command(self, action: str, **fields: Any) -> None:
        version = self.playback["version"] if self.playback else 0
        self.send({"type": "command", "action": action, "baseVersion": version, **fields})

    def say(self, content: str) -> None:
        self.send({"type": "chat", "content": content})

    async def stall(self, seconds: float) -> None:
        """The player starves for `seconds` (a simulated player's `stall`): tell the room, then say ready."""
        stall = getattr(self.player, "stall", None)
        self.buffering = True
        self.send({"type": "buffering"})
        if stall is not None:
            stall(seconds)
        await asyncio.sleep(seconds)
        self.buffering = False
        self.send({"type": "ready"})

    async def _sender(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await self._out.get()
            if data is None:
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            await ws.send(data.decode())

    # -- receiving ---------------------------------------------------------------------------------------------

    async def _reader(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[float, str | bytes | None]] = asyncio.Queue()
        handler = loop.create_task(self._handle_inbox(inbox))
        try:
            async for raw in ws:
                inbox.put_nowait((self.down.due(loop.time()), raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            inbox.put_nowait((self.down.due(loop.time()), None))
            try:
                await handler
            finally:
                handler.cancel()
                self.closed = Closed(ws.close_code, ws.close_reason or "")
                self.message_arrived.set()

    async def _handle_inbox(self, inbox: asyncio.Queue[tuple[float, str | bytes | None]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, raw = await inbox.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if raw is None:
                return
            # when it arrived, not when this loop got round to it: a busy client must not pass for a slow network
            arrived_ms = self.local_ms() - max(0.0, loop.time() - due) * 1000
            self.handle(orjson.loads(raw), arrived_ms)

    def handle(self, msg: dict[str, Any], arrived_ms: float | None = None) -> None:
        self.messages.append(msg)
        self.received += 1
        self.message_arrived.set()
        seq = msg.get("seq")
        if isinstance(seq, int) and (seq > self.seq or msg.get("type") == "welcome"):
            self.seq = seq  # a welcome starts the numbering afresh (a rebuilt room starts again)
        match msg.get("type"):
            case "welcome":
                self.user_id, self.role = msg["you"]["userId"], msg["you"]["role"]
                self.epoch, self.can = msg["epoch"], msg["you"]["can"]
                self.params = DriftParams.from_wire(msg["params"])
                self.corrector.params = self.params
                self._new_state(msg["state"], msg["state"]["anchorServerTime"])
                self.welcomed.set()
            case "pong":
                sent = self._pings.pop(msg["id"], None)
                if sent is not None:
                    self.clock.add(msg["t0"], msg["t1"], msg["t2"], arrived_ms or self.local_ms())
                    if len(self.clock.samples) >= 3:
                        self._clock_ready.set()
            case "state":
                self._new_state(msg["state"], msg["executeAt"])
            case "chat":
                message_id = msg["message"]["id"]
                self.chat_seen[message_id] += 1
                if self.chat_seen[message_id] == 1:
                    self.chat.append(msg["message"])
            case "you":
                self.role, self.can = msg["role"], msg["can"]
            case "playlist":
                self._playlist_event(msg)

    async def next_message(
        self,
        kind: str,
        wait_s: float = 10,
        *,
        since: int | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The next message of a kind (and matching `where`) from message number `since` on (default: from
        now; `received` counts the messages so far)."""
        seen = self.received if since is None else since
        async with asyncio.timeout(wait_s):
            while True:
                first_kept = self.received - len(self.messages)
                for i in range(max(seen, first_kept), self.received):
                    msg = self.messages[i - first_kept]
                    if msg.get("type") == kind and (where is None or where(msg)):
                        return msg
                seen = self.received
                if self.closed is not None:
                    raise ConnectionError(f"closed: {self.closed}")
                self.message_arrived.clear()
                await self.message_arrived.wait()

    # -- the playlist ----------------------------------------------------------------------------------------------

    def _refresh_playlist(self) -> None:
        async def fetch() -> None:
            with contextlib.suppress(Exception):  # a later event asks again
                listing = await Api(self.base_url, self.token).playlist(self.room_id)
                if self.playlist is None or listing["version"] >= self.playlist["version"]:
                    self.playlist = listing

        if self._refetch is None or self._refetch.done():
            self._refetch = asyncio.get_running_loop().create_task(fetch())

    def _playlist_event(self, msg: dict[str, Any]) -> None:
        """Apply a `playlist` event to the list we hold; a gap in the versions, or an item we do not know, means we
        missed something: read the list again (docs/protocol.md, The playlist)."""
        known = self.playlist
        if known is not None and msg["version"] <= known["version"]:
            return
        items = {} if known is None else {item["id"]: item for item in known["items"]}
        items.update({item["id"]: item for item in msg["items"]})
        if known is None or msg["version"] != known["version"] + 1 or any(i not in items for i in msg["order"]):
            self._refresh_playlist()
            if known is None:
                return
        self.playlist = {
            **{k: msg[k] for k in ("version", "mode", "loop", "currentItemId", "membersAdd", "skipRatio", "queueCap")},
            "items": [items[i] for i in msg["order"] if i in items],
        }

    def next_item(self) -> dict[str, Any] | None:
        """The item that plays when the current one ends, by the playlist's rules (docs/protocol.md)."""
        listing = self.playlist
        if listing is None:
            return None
        items: list[dict[str, Any]] = listing["items"]
        order = [item["id"] for item in items]
        current = (self.playback or {}).get("itemId")
        if current not in order:
            return None
        if listing["loop"] == "one":
            return items[order.index(current)]
        i = order.index(current) + 1
        if i < len(order):
            return items[i]
        return items[0] if listing["loop"] == "all" else None

    def _maybe_preload(self, expected: float) -> None:
        pb, player = self.playback, self.player
        if pb is None or pb["paused"] or not pb.get("duration") or not isinstance(player, MediaPlayer):
            return
        if expected < pb["duration"] - PRELOAD_S:
            return
        after = self.next_item()
        if after is not None and after["movie"]["id"] != self._preloaded:
            self._preloaded = after["movie"]["id"]
            player.preload(after["movie"]["id"])

    # -- clock -------------------------------------------------------------------------------------------------

    async def _pinger(self) -> None:
        for _ in range(PINGS_AT_START):
            self._ping()
            await asyncio.sleep(0.1)
        for _ in range(PINGS_EARLY):  # more, a few seconds apart: the first ones may meet an arrival rush
            await asyncio.sleep(PING_EARLY_EVERY_S)
            self._ping()
        while True:
            await asyncio.sleep(PING_EVERY_S)
            self._ping()

    def _ping(self) -> None:
        self._ping_id += 1
        now = self.local_ms()
        self._pings[self._ping_id] = now
        self.send({"type": "ping", "id": self._ping_id, "t0": now})

    # -- playback ----------------------------------------------------------------------------------------------

    def expected_position(self, local_ms: float | None = None) -> float | None:
        """Where the room is now by our clock estimate, in seconds of media."""
        pb = self.playback
        if pb is None:
            return None
        return _position_at(pb, self.clock.server_ms(self.local_ms() if local_ms is None else local_ms))

    def _new_state(self, state: dict[str, Any], execute_at: float) -> None:
        self.playback = state
        self.history.append((execute_at, state))
        if len(self.history) > 1000:
            del self.history[:500]
        if self._apply_task is not None:
            self._apply_task.cancel()
        self._apply_task = asyncio.get_running_loop().create_task(self._apply(state, execute_at))

    async def _sleep_until(self, local_ms: float) -> None:
        await asyncio.sleep(max(0.0, (local_ms - self.local_ms()) / 1000))
        woke = self.local_ms()
        self.wake_lateness.append((woke, max(0.0, woke - local_ms)))

    async def calibrate(self) -> None:
        """Measure how long the player takes to start moving after play, and after a seek while playing, with a
        muted probe: play, seek back, pause, and back to where it was. Only while the room is paused, where it
        cannot be seen; a room that plays teaches the same from its first scheduled start instead."""
        player = self.player
        if player.playing:
            return
        home = player.position()

        async def moving_after(since: float, pos: float) -> float:
            while player.position() == pos and self.local_ms() - since < 2000:  # noqa: ASYNC110 - polling the player is the measurement
                await asyncio.sleep(0.005)
            return self.local_ms() - since

        started = self.local_ms()
        player.play()
        self.play_delay_ms = await moving_after(started, home)
        started = self.local_ms()
        player.seek(home)
        self.seek_delay_ms = await moving_after(started, home)
        player.pause()
        player.seek(home)

    async def _apply(self, st: dict[str, Any], execute_at: float) -> None:
        """Make the player match `st` at `execute_at` (server ms), starting early by what it takes to start.
        A change whose moment has passed (a welcome into a playing room, a replay after a reconnect) is met
        where the room will be once the player has started."""
        await self._clock_ready.wait()
        player = self.player
        self._settling_until = float("inf")  # the corrector keeps off until this change has settled
        learn: str | None = None
        try:
            if not self.calibrated and st["paused"] and not player.playing:
                self.calibrated = True
                self._calibration = asyncio.get_running_loop().create_task(self.calibrate())
            if self._calibration is not None:  # a change during the probe waits for it (it is not cut short)
                await asyncio.shield(self._calibration)
            at = self.clock.local_ms(execute_at)
            media = st.get("mediaId")
            if isinstance(player, MediaPlayer) and media is not None and media != self.loaded_media:
                if player.playing:  # the old media plays on until the new one starts
                    await self._sleep_until(at - self.play_delay_ms)
                player.load(media, st.get("duration"))
                self.loaded_media = media
                while getattr(player, "stalled", False):  # noqa: ASYNC110 - polling the player is how it tells us it can play
                    await asyncio.sleep(0.01)
            now = self.local_ms()
            if st["paused"]:
                await self._sleep_until(at)
                player.pause()
                player.set_rate(st["rate"])
                if abs(player.position() - st["position"]) > 0.001:
                    player.seek(st["position"])
            elif not player.playing and now <= at - self.play_delay_ms + START_SLACK_MS:  # on time: start early
                if abs(player.position() - st["position"]) > 0.001:
                    player.seek(st["position"])
                player.set_rate(st["rate"])
                await self._sleep_until(at - self.play_delay_ms)
                # a player still loading its media starts late for that, not for its start-up: nothing to learn
                learn = None if getattr(player, "stalled", False) else "play"
                player.play()
            elif not player.playing:  # late: seek to where the room will be once both have settled
                player.set_rate(st["rate"])
                ready_in = max(self.play_delay_ms, self.seek_delay_ms)
                player.seek(_position_at(st, self.clock.server_ms(now + ready_in)))
                player.play()
                self.corrector.seeked(now)
                at = now + ready_in
            else:
                will_be = player.position() + (at - now) / 1000 * st["rate"]
                if abs(will_be - st["position"]) * 1000 > self.params.seek_from_ms:
                    # A jump: seek while paused, then start as a play starts. A seek's start-up varies more than a
                    # play's, and paused it is over before the moment; the start is then as exact as a play's.
                    player.pause()
                    ready = now + self.seek_delay_ms * SEEK_MARGIN
                    starts = max(at - self.play_delay_ms, ready)
                    player.seek(_position_at(st, self.clock.server_ms(starts + self.play_delay_ms)))
                    player.set_rate(st["rate"])
                    self.corrector.seeked(now)
                    await self._sleep_until(starts)
                    player.play()
                    learn = "play" if starts == at - self.play_delay_ms else None
                    at = max(at, starts + self.play_delay_ms)
                else:  # a small change (a rate change, a seek to about here): in place, without stopping
                    await self._sleep_until(at - self.seek_delay_ms)
                    now = self.local_ms()
                    lands = now + self.seek_delay_ms
                    will_be = player.position() + self.seek_delay_ms / 1000 * st["rate"]
                    target = _position_at(st, self.clock.server_ms(lands))
                    if abs(will_be - target) * 1000 > self.params.nudge_from_ms:
                        player.seek(target)
                        self.corrector.seeked(now)
                        learn = "seek" if lands <= at + 1 else None
                        at = max(at, lands)
                    await self._sleep_until(at)
                    player.set_rate(st["rate"])
            self.corrector.nudging = False
            await self._sleep_until(at + SETTLE_MS)
            if learn is not None:
                self._learn(learn)
        finally:
            self._settling_until = 0.0

    def _learn(self, what: str) -> None:
        """After a start, the player's lag from the room is mostly our error about its start-up delay."""
        expected = self.expected_position()
        if expected is None or self.buffering:
            return
        lag_ms = (expected - self.player.position()) * 1000
        if abs(lag_ms) > self.params.seek_from_ms:
            return  # something else happened (a stall); do not learn from it
        if what == "play":
            self.play_delay_ms = min(1000.0, max(0.0, self.play_delay_ms + 0.8 * lag_ms))
        else:
            self.seek_delay_ms = min(1000.0, max(0.0, self.seek_delay_ms + 0.8 * lag_ms))

    async def _correct_loop(self) -> None:
        await self._clock_ready.wait()
        pending_learn_at = 0.0
        while True:
            await asyncio.sleep(CORRECT_EVERY_S)
            now = self.local_ms()
            pb = self.playback
            if pb is None or self.buffering or now < self._settling_until:
                continue
            if pending_learn_at and now >= pending_learn_at:
                pending_learn_at = 0.0
                self._learn("seek")
            player = self.player
            if pb["paused"] == player.playing:  # e.g. a state applied while we were away
                (player.pause if pb["paused"] else player.play)()
            expected = self.expected_position(now)
            assert expected is not None
            self._maybe_preload(expected)
            c = self.corrector.decide(
                expected, player.position(), pb["rate"], now, paused=pb["paused"], seek_delay_ms=self.seek_delay_ms,
                nudges=getattr(player, "continuous_rates", True),
            )  # fmt: skip
            if c.kind == "seek":
                player.seek(c.position)
                if not pb["paused"]:  # look again once it has settled, and learn from it
                    self._settling_until = pending_learn_at = now + self.seek_delay_ms + SETTLE_MS / 2
            elif c.kind == "rate":
                player.set_rate(c.rate)

    async def _reporter(self) -> None:
        await self._clock_ready.wait()
        while True:
            await asyncio.sleep(self.params.report_interval_ms / 1000)
            now = self.local_ms()
            self.send(
                {
                    "type": "report",
                    "position": max(0.0, self.player.position()),
                    "serverTime": self.clock.server_ms(now),
                    "rtt": self.clock.rtt_ms,
                    "offset": self.clock.offset_ms,
                    "paused": not self.player.playing,
                    "buffering": self.buffering,
                    "startupMs": round(max(self.play_delay_ms, self.seek_delay_ms * SEEK_MARGIN), 1),
                }
            )
