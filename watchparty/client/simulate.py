"""Many simulated viewers in one room, and skew measured on the true clock.

Each viewer is a real protocol client (`Viewer`) driving a `SimulatedPlayer` with its own clock offset, clock
drift, rate error and start-up delays, behind a simulated link with latency and jitter. The harness reads every
player's position at the same true instant and compares them with each other (spread) and with where the room
really is (deviation), from the room's own state messages."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchparty.client.api import Api
from watchparty.client.player import YOUTUBE_RATES, Imperfections, SimulatedPlayer, Switch
from watchparty.client.viewer import Viewer

PASSWORD = "simulated-viewer-1"  # noqa: S105 - throwaway accounts made by the simulator
# the players the simulator models: an HTML5 <video> (any rate), and YouTube's IFrame player (eight fixed rates,
# slower to start and to seek)
PLAYERS: dict[str, dict[str, Any]] = {
    "file": {},
    "youtube": {"rate_steps": YOUTUBE_RATES, "play_delay_ms": (100, 400), "seek_delay_ms": (200, 600)},
}


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


@dataclass
class SkewStats:
    samples: int
    spread_p50_ms: float
    spread_p95_ms: float
    spread_max_ms: float
    deviation_p50_ms: float
    deviation_p95_ms: float
    # the latest any viewer of this process woke for a scheduled play, pause or seek of this change: the harness's
    # own lateness (viewers that share busy cores), which a spread includes and the protocol cannot remove
    harness_late_max_ms: float = 0.0

    @classmethod
    def of(cls, spreads: list[float], deviations: list[float], harness_late_max_ms: float = 0.0) -> SkewStats:
        return cls(
            samples=len(spreads),
            spread_p50_ms=percentile(spreads, 0.5),
            spread_p95_ms=percentile(spreads, 0.95),
            spread_max_ms=max(spreads, default=0.0),
            deviation_p50_ms=percentile(deviations, 0.5),
            deviation_p95_ms=percentile(deviations, 0.95),
            harness_late_max_ms=harness_late_max_ms,
        )

    def line(self) -> str:
        return (
            f"spread p50 {self.spread_p50_ms:.1f} ms, p95 {self.spread_p95_ms:.1f} ms, max {self.spread_max_ms:.1f} ms;"
            f" deviation from the room p50 {self.deviation_p50_ms:.1f} ms, p95 {self.deviation_p95_ms:.1f} ms"
            f" ({self.samples} samples; the harness woke up to {self.harness_late_max_ms:.0f} ms late)"
        )


@dataclass
class SimViewer:
    viewer: Viewer
    player: SimulatedPlayer
    api: Api


@dataclass
class Swarm:
    room_id: int
    members: list[SimViewer]
    true_clock: Callable[[], float] = time.time
    reference: Viewer | None = None  # whose state messages say where the room is (default: the first)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> SimViewer:
        return self.members[0]

    @property
    def connected(self) -> list[SimViewer]:
        return [m for m in self.members if m.viewer.connected]

    def room_position(self, t: float) -> float | None:
        """Where the room is at true time t (s), from the state messages: the server's clock is the true one."""
        ref = self.reference or self.host.viewer
        now_ms = t * 1000
        current = None
        for execute_at, st in reversed(ref.history):
            if execute_at <= now_ms:
                current = st
                break
        if current is None:
            return None
        if current["paused"]:
            return float(current["position"])
        return float(current["position"] + (now_ms - current["anchorServerTime"]) / 1000 * current["rate"])

    def deviations(self, t: float, members: Sequence[SimViewer] | None = None) -> list[float]:
        room = self.room_position(t)
        if room is None:
            return []
        return [(m.player.true_position(t) - room) * 1000 for m in (members or self.connected)]

    def marks(self, members: Sequence[SimViewer] | None = None) -> list[float]:
        """Each member's device clock now (ms): where `measure` starts reading how late the harness woke."""
        return [m.viewer.local_ms() for m in (members or self.connected)]

    async def measure(
        self,
        seconds: float,
        *,
        every: float = 0.05,
        members: Sequence[SimViewer] | None = None,
        since: Sequence[float] | None = None,
    ) -> SkewStats:
        """Sample every player at the same true instants for `seconds`; the harness's lateness is read from
        `since` (`marks()` taken before the change was asked for; default: now)."""
        spreads: list[float] = []
        deviations: list[float] = []
        members = members or self.connected
        marks = since if since is not None else self.marks(members)
        end = self.true_clock() + seconds
        while self.true_clock() < end:
            t = self.true_clock()
            devs = self.deviations(t, members)
            if devs:
                spreads.append(max(devs) - min(devs))
                deviations.extend(abs(d) for d in devs)
            await asyncio.sleep(every)
        return SkewStats.of(spreads, deviations, self.harness_late_ms(members, marks))

    @staticmethod
    def harness_late_ms(members: Sequence[SimViewer], marks: Sequence[float]) -> float:
        """The latest wake of any member's scheduled action since `marks` (each member's device clock, ms)."""
        late = [
            ms for m, mark in zip(members, marks, strict=True) for woke, ms in m.viewer.wake_lateness if woke >= mark
        ]
        return max(late, default=0.0)

    async def until_in_sync(
        self, member: SimViewer, within_ms: float, hold_s: float, give_up_s: float, start: float | None = None
    ) -> float:
        """Seconds from `start` (true time; default now) until `member` is within `within_ms` of the room and
        stays so for `hold_s`. Raises TimeoutError if that has not begun `give_up_s` after `start`."""
        start = self.true_clock() if start is None else start
        since: float | None = None
        while True:
            t = self.true_clock()
            if (since or t) - start > give_up_s:
                raise TimeoutError(f"not in sync within {give_up_s} s")
            devs = self.deviations(t, [member])
            if devs and abs(devs[0]) <= within_ms:
                since = t if since is None else since
                if t - since >= hold_s:
                    return since - start
            else:
                since = None
            await asyncio.sleep(0.02)

    async def settled(self, give_up_s: float = 30.0) -> None:
        """Until every connected viewer has its clock estimate and has measured its player."""
        async with asyncio.timeout(give_up_s):
            while not all(m.viewer.settled for m in self.connected):  # noqa: ASYNC110 - polling many viewers
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        await asyncio.gather(*(m.viewer.close() for m in self.members), return_exceptions=True)


def make_viewer(
    url: str,
    room_id: int,
    api: Api,
    rng: random.Random,
    *,
    latency_ms: tuple[float, float],
    jitter_ms: float,
    max_offset_ms: float,
    delay_jitter: float = 0.2,
    true_clock: Callable[[], float] = time.time,
    kind: str = "file",
) -> SimViewer:
    seed = rng.randrange(2**31)
    imperfections = Imperfections.random(rng, max_offset_ms=max_offset_ms, delay_jitter=delay_jitter, **PLAYERS[kind])
    player = SimulatedPlayer(true_clock, imperfections, seed=seed)
    assert api.token is not None
    viewer = Viewer(
        url, room_id, api.token, player, local_ms=player.local_ms,
        latency_ms=rng.uniform(*latency_ms), jitter_ms=jitter_ms, seed=seed,
    )  # fmt: skip
    return SimViewer(viewer, player, api)


async def build_swarm(
    urls: Sequence[str],
    viewers: int,
    *,
    latency_ms: tuple[float, float] = (20, 150),
    jitter_ms: float = 30,
    max_offset_ms: float = 2000,
    delay_jitter: float = 0.2,
    seed: int = 1,
    connect: bool = True,
    kind: str = "file",
    progress: Callable[[str], None] | None = None,
) -> Swarm:
    """Sign up `viewers` users, the first makes a room and the rest join; viewer i connects to urls[i % len]."""
    rng = random.Random(seed)
    run = secrets.token_hex(3)
    gate = asyncio.Semaphore(16)

    async def account(i: int) -> Api:
        async with gate:
            api = Api(urls[i % len(urls)])
            await api.register(f"sim{run}v{i}", PASSWORD)
            return api

    apis = await asyncio.gather(*(account(i) for i in range(viewers)))
    room_id = await apis[0].create_room(f"Simulation {run}", capacity=max(2, viewers))

    async def join(api: Api) -> None:
        async with gate:
            await api.join_room(room_id)

    await asyncio.gather(*(join(api) for api in apis[1:]))
    members = [
        make_viewer(urls[i % len(urls)], room_id, api, rng, latency_ms=latency_ms, jitter_ms=jitter_ms,
                    max_offset_ms=max_offset_ms, delay_jitter=delay_jitter, kind=kind)
        for i, api in enumerate(apis)
    ]  # fmt: skip
    swarm = Swarm(room_id, members)
    if connect:
        await connect_all(swarm.members, progress)
    return swarm


async def connect_all(members: Sequence[SimViewer], progress: Callable[[str], None] | None = None) -> None:
    gate = asyncio.Semaphore(32)
    done = 0

    async def one(m: SimViewer) -> None:
        nonlocal done
        async with gate:
            await m.viewer.connect()
        done += 1
        if progress and (done % 50 == 0 or done == len(members)):
            progress(f"{done}/{len(members)} viewers connected")

    await asyncio.gather(*(one(m) for m in members))


async def scenario(
    swarm: Swarm, *, settle_s: float = 1.0, hold_s: float = 6.0, say: Callable[[str], None] = print
) -> dict[str, SkewStats]:
    """play, seek, pause, play again; skew measured from each change's executeAt for `hold_s` seconds."""
    host = swarm.host.viewer
    results: dict[str, SkewStats] = {}
    await swarm.settled()
    await asyncio.sleep(settle_s)
    for name, action, fields in (
        ("play", "play", {}),
        ("seek", "seek", {"position": 120.0}),
        ("pause", "pause", {}),
        ("play again", "play", {}),
    ):
        since = swarm.marks()
        host.command(action, **fields)
        msg = await host.next_message("state")
        await asyncio.sleep(max(0.0, msg["executeAt"] / 1000 - swarm.true_clock()))
        results[name] = await swarm.measure(hold_s, since=since)
        say(f"after {name}: {results[name].line()}")
    return results


@dataclass
class HandOverStats:
    """The moves from one playlist item to the next, on the true clock: each viewer's dead air (from the moment
    the old item stopped moving to the moment the new one moved) and how far apart the viewers started the new
    item (every pair of viewers, each hand-over)."""

    hand_overs: int
    viewers: int
    dead_air_p50_ms: float
    dead_air_p95_ms: float
    dead_air_max_ms: float
    start_spread_p50_ms: float
    start_spread_p95_ms: float
    start_spread_max_ms: float
    late_join_in_sync_s: float | None = None

    def line(self) -> str:
        late = (
            ""
            if self.late_join_in_sync_s is None
            else f"; a late joiner in sync after {self.late_join_in_sync_s:.2f} s"
        )
        return (
            f"{self.hand_overs} hand-overs × {self.viewers} viewers: dead air p50 {self.dead_air_p50_ms:.0f} ms,"
            f" p95 {self.dead_air_p95_ms:.0f} ms, max {self.dead_air_max_ms:.0f} ms; start spread p50"
            f" {self.start_spread_p50_ms:.0f} ms, p95 {self.start_spread_p95_ms:.0f} ms, max"
            f" {self.start_spread_max_ms:.0f} ms{late}"
        )


def hand_over_stats(switches: Sequence[Sequence[Switch]], media_ids: Sequence[int]) -> HandOverStats:
    """From each player's switches of media (SimulatedPlayer.switches): the hand-overs to `media_ids` (the items
    after the first)."""
    dead: list[float] = []
    pairs: list[float] = []
    for media in media_ids:
        starts = []
        for player_switches in switches:
            switch = next((s for s in player_switches if s.media_id == media and s.started_at is not None), None)
            if switch is None or switch.started_at is None:
                raise AssertionError(f"a viewer never started media {media}")
            dead.append(max(0.0, switch.started_at - switch.stopped_at) * 1000)
            starts.append(switch.started_at)
        pairs.extend(abs(a - b) * 1000 for i, a in enumerate(starts) for b in starts[i + 1 :])
    return HandOverStats(
        hand_overs=len(media_ids),
        viewers=len(switches),
        dead_air_p50_ms=percentile(dead, 0.5),
        dead_air_p95_ms=percentile(dead, 0.95),
        dead_air_max_ms=max(dead, default=0.0),
        start_spread_p50_ms=percentile(pairs, 0.5),
        start_spread_p95_ms=percentile(pairs, 0.95),
        start_spread_max_ms=max(pairs, default=0.0),
    )


async def playlist_scenario(
    swarm: Swarm,
    *,
    items: int = 3,
    seconds: int = 12,
    late: SimViewer | None = None,
    say: Callable[[str], None] = print,
) -> HandOverStats:
    """A playlist of `items` short movies of `seconds` each, played through by itself from one `play`: the
    hand-overs measured on every connected viewer; `late` (not connected yet) joins 3 s into the second item and
    is timed until it is within 100 ms of the room for a second."""
    host = swarm.host
    run = secrets.token_hex(3)
    movies = [
        await host.api.create_movie(f"Item {i + 1}", f"https://media.example.com/sim/{run}/{i + 1}.mp4",
                                    durationSeconds=seconds)
        for i in range(items)
    ]  # fmt: skip
    version = (await host.api.playlist(swarm.room_id))["version"]
    for movie in movies:
        version = (await host.api.add_item(swarm.room_id, version, movieId=movie))["version"]
    await swarm.settled()
    members = list(swarm.connected)
    await asyncio.sleep(2.5)  # every viewer has the list and has loaded the first item (a load takes 1.5 s)
    host.viewer.command("play")
    started = await host.viewer.next_message("state", where=lambda m: m["cause"] == "command")
    begin = started["executeAt"] / 1000
    say(f"room {swarm.room_id}: {items} items of {seconds} s, playing through by itself")
    late_s = None
    if late is not None:
        await asyncio.sleep(max(0.0, begin + seconds + 3.0 - swarm.true_clock()))
        joined = swarm.true_clock()
        await late.viewer.connect()
        late_s = await swarm.until_in_sync(late, 100, 1.0, 3.0, start=joined)
        if late.player.media != movies[1]:
            raise AssertionError(f"the late joiner plays media {late.player.media}, not the second item")
    await asyncio.sleep(max(0.0, begin + items * seconds + 1.0 - swarm.true_clock()))
    stats = hand_over_stats([m.player.switches for m in members], movies[1:])
    stats.late_join_in_sync_s = late_s
    say(stats.line())
    return stats
