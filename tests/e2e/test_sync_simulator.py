"""Simulated viewers (watchparty.client) against two real `watchparty serve` processes on one Redis: imperfect
players (clock offsets up to ±2 s, ±200 ppm drift, ±0.5 % rate error, start-up delays) behind 20–150 ms links
with ±30 ms jitter. Skew is read on the true clock."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.e2e.conftest import LiveServer
from watchparty.client.api import Api
from watchparty.client.simulate import PASSWORD, SimViewer, Swarm, build_swarm, connect_all
from watchparty.config import Settings
from watchparty.core.db import Database
from watchparty.models import UserRole
from watchparty.users import service as users_service

pytestmark = pytest.mark.slow

SKEW_P95_MS = 100  # the bound for positions after play, pause and seek
IN_SYNC_MS = 100


@pytest.fixture(scope="module")
async def swarm(two: tuple[LiveServer, LiveServer]) -> AsyncIterator[Swarm]:
    a, b = two
    # six viewers split over the two processes, and a seventh who comes late
    swarm = await build_swarm([a.url, b.url], 7, latency_ms=(20, 150), jitter_ms=30, max_offset_ms=2000,
                              seed=7, connect=False)  # fmt: skip
    await connect_all(swarm.members[:6])
    await swarm.settled()
    host = swarm.host.viewer
    host.command("play")
    started = await host.next_message("state")
    await asyncio.sleep(started["executeAt"] / 1000 - time.time() + 2.0)
    try:
        yield swarm
    finally:
        await swarm.close()


def spread_now(swarm: Swarm, members: list[SimViewer]) -> float:
    devs = swarm.deviations(time.time(), members)
    return max(devs) - min(devs)


async def test_six_viewers_on_two_processes_agree_within_100ms_after_play_seek_and_pause(
    two: tuple[LiveServer, LiveServer],
) -> None:
    """`watchparty simulate` in a process of its own (so that nothing else in the test process delays its
    viewers): six viewers over the two servers; positions compared on the true clock from each executeAt."""
    a, b = two
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watchparty", "simulate", "--url", a.url, "--url", b.url, "--viewers", "6",
        "--latency", "20-150", "--jitter", "30", "--offset", "2000", "--hold", "8", "--seed", "7", "--json",
        # each player's start-up delays are its own (20-200 ms play, 50-300 ms seek) and vary ±5 % per event (the
        # benchmark runs the default ±20 %). Skew is read for 8 s from each change, as the benchmark reads it.
        # (Before the room's lead grew with its slowest player, a viewer whose seek start-up and link outlasted
        # the 300 ms lead landed up to ~300 ms off; over 5 s that tail alone put p95 near the bound.)
        "--delay-jitter", "0.05",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 150)
    assert proc.returncode == 0, out.decode()
    print(out.decode())  # shown with a failure: each change's spread, and how late the harness woke
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert set(results) == {"play", "seek", "pause", "play again"}
    for name, stats in results.items():
        assert stats["samples"] >= 50, name
        # the bound is the protocol's; on busy cores the six viewers in one process also wake late for their
        # scheduled starts, which no protocol can remove: that lateness, measured, is allowed on top
        assert stats["spread_p95_ms"] <= SKEW_P95_MS + stats["harness_late_max_ms"], f"after {name}: {stats}"
    assert "spread p50" in out.decode()  # and it told a person, line by line


YOUTUBE_SPREAD_P95_MS = 300  # issue 21's bound for YouTube's fixed-rate players (OpenTogetherTube ~1 s, CyTube ~2 s)


async def test_youtube_like_players_with_fixed_rates_agree_within_300ms(two: tuple[LiveServer, LiveServer]) -> None:
    """The same six viewers with YouTube's player model: eight fixed rates (no nudging: the drift rules seek,
    from `stepSeekFromMs`, every `stepSeekCooldownMs` at most), 100-400 ms to start and 200-600 ms to seek."""
    a, b = two
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watchparty", "simulate", "--url", a.url, "--url", b.url, "--viewers", "6",
        "--latency", "20-150", "--jitter", "30", "--offset", "2000", "--hold", "8", "--seed", "11", "--json",
        "--delay-jitter", "0.05", "--player", "youtube",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 150)
    print(out.decode())
    assert proc.returncode == 0, out.decode()
    results = json.loads(out.decode().strip().splitlines()[-1])
    for name, stats in results.items():
        assert stats["samples"] >= 50, name
        bound = YOUTUBE_SPREAD_P95_MS + stats["harness_late_max_ms"]
        # after a seek too: the room's lead grows with its slowest player's reported start-up (a 600 ms seek
        # could not finish within the default 300 ms, and its viewer was off for most of a second: p95 349 ms)
        assert stats["spread_p95_ms"] <= bound, f"after {name}: {stats}"


async def test_admins_see_the_rooms_skew_from_the_position_reports(
    swarm: Swarm, two: tuple[LiveServer, LiveServer], e2e_database_url: str
) -> None:
    a, _ = two
    api = Api(a.url)
    await api.register("simadmin", PASSWORD)
    async with httpx.AsyncClient(base_url=a.url) as http:
        me = (await http.get("/api/auth/profile", headers={"Authorization": f"Bearer {api.token}"})).json()["data"]
    db = Database(Settings(database_url=e2e_database_url))
    try:
        async with db.session() as session:
            await users_service.set_role(session, me["id"], UserRole.ADMIN)
    finally:
        await db.dispose()
    # a report from every viewer (every 3 s), and the once-a-second write: waited for, up to a deadline
    async with httpx.AsyncClient(base_url=a.url) as http, asyncio.timeout(15):
        while True:
            r = await http.get(
                f"/api/rooms/{swarm.room_id}/sync-stats", headers={"Authorization": f"Bearer {api.token}"}
            )
            assert r.status_code == 200, r.text
            stats = r.json()["data"]
            if stats["viewers"] >= 6:
                break
            await asyncio.sleep(0.5)
    # the six viewers reported from both processes; the server's figures agree with the true-clock ones
    assert stats["viewers"] == 6
    assert stats["p95Ms"] <= SKEW_P95_MS
    # each viewer's own figures, as the web client shows them (in sync / drifting / buffering)
    assert len(stats["perViewer"]) == 6
    assert all(abs(v["skewMs"]) <= stats["maxMs"] and v["ageMs"] < 10_000 for v in stats["perViewer"])


async def test_a_late_joiner_is_in_sync_within_3s(swarm: Swarm) -> None:
    host = swarm.host.viewer
    assert host.playback is not None and not host.playback["paused"], "the room plays (the fixture started it)"
    late = swarm.members[6]
    started = time.time()
    await late.viewer.connect()
    took = await swarm.until_in_sync(late, IN_SYNC_MS, hold_s=1.0, give_up_s=3.0, start=started)
    assert took <= 3.0


async def test_a_viewer_back_after_10s_gets_every_missed_chat_once_and_is_in_sync_within_2s(swarm: Swarm) -> None:
    host, away = swarm.host, swarm.members[3]
    assert away.viewer.base_url != host.viewer.base_url  # on the other process
    before = dict(away.viewer.chat_seen)
    await away.viewer.disconnect()
    sent: list[int] = []
    for i in range(3):
        host.viewer.say(f"while you were away {i}")
        sent.append((await host.viewer.next_message("chat"))["message"]["id"])
    sent += [(await host.api.post_chat(swarm.room_id, f"over REST {i}"))["id"] for i in range(2)]
    host.viewer.command("seek", position=600.0)
    await host.viewer.next_message("state")
    await asyncio.sleep(10 - 1.5)  # ten seconds away in all
    back = time.time()
    await away.viewer.connect(resume=True)
    took = await swarm.until_in_sync(away, IN_SYNC_MS, hold_s=0.5, give_up_s=2.0, start=back)
    assert took <= 2.0
    async with asyncio.timeout(5):
        while not all(away.viewer.chat_seen[i] for i in sent):
            await away.viewer.next_message("chat")
    assert all(away.viewer.chat_seen[i] == 1 for i in sent), away.viewer.chat_seen
    assert all(away.viewer.chat_seen[i] == n for i, n in before.items())  # nothing seen before came again
    assert time.time() - back < 10


async def test_a_buffering_viewer_holds_the_room_at_most_the_timeout_then_catches_up(swarm: Swarm) -> None:
    host, slow = swarm.host.viewer, swarm.members[2]
    everyone = swarm.members[:7]
    mark = host.received
    stall = asyncio.get_running_loop().create_task(slow.viewer.stall(4.0))  # the server's timeout is 1.5 s here
    waiting = await host.next_message("waiting", since=mark)
    hold = await host.next_message("state", since=mark)
    assert hold["cause"] == "waiting" and hold["state"]["paused"]
    resumed = await host.next_message("state", wait_s=5, since=mark, where=lambda m: m["cause"] != "waiting")
    assert resumed["cause"] == "timeout" and not resumed["state"]["paused"]
    # held from the hold's moment to the resume's: the timeout, plus the lead, plus a timer's slack
    assert waiting["deadline"] - (hold["executeAt"] - 300) <= 1500 + 1
    assert resumed["executeAt"] - hold["executeAt"] <= 1500 + 250
    ended = [m for m in host.messages if m.get("type") == "waitingEnded"][-1]
    assert ended["laggards"] == [slow.viewer.user_id]
    # the others play on together while the laggard still stalls
    await asyncio.sleep(1.0)
    others = [m for m in everyone if m is not slow]
    assert spread_now(swarm, others) <= SKEW_P95_MS
    await stall
    took = await swarm.until_in_sync(slow, IN_SYNC_MS, hold_s=0.5, give_up_s=4.0)
    assert took <= 4.0
