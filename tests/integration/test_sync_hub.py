"""The hub on real Redis: a storm of changes to one room, from one process and from two, applies every change
exactly once and numbers every event without a gap (it once refused sockets for "too much contention")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
import pytest

from tests.conftest import flush_prefix
from watchparty.config import Settings
from watchparty.core.redis import make_client
from watchparty.sync import engine
from watchparty.sync.hub import Hub


def hub_for(settings: Settings, clock: Callable[[], float] = time.time) -> Hub:
    url = settings.effective_redis_url
    assert url is not None
    return Hub(
        make_client(url, settings, timeout_ms=2000), f"{settings.key_prefix}:hubtest", engine.SyncParams(), clock
    )


async def test_a_join_storm_over_two_processes_applies_every_change_once(settings: Settings) -> None:
    a, b = hub_for(settings), hub_for(settings)  # two processes: two hubs, two connection pools
    room = 4242
    try:
        joins = [(a if i % 2 else b).apply(room, engine.Join(i, "member")) for i in range(1, 301)]
        chats = [(a if i % 2 else b).publish(room, [{"type": "chat", "message": {"id": i}}]) for i in range(1, 201)]
        _, published = await asyncio.gather(asyncio.gather(*joins), asyncio.gather(*chats))
        state, seq = await a.snapshot(room)
        assert sorted(state.viewers) == list(range(1, 301))
        numbered = sorted(item["seq"] for items in published for item in items)
        assert numbered == list(range(1, 201)) and seq == 200  # joins make no events; chat is numbered 1..200
        replay = await a.missed(room, 0, state.epoch)
        assert replay is not None and len(replay) == 200
        # the versioned compare-and-set still orders commands: of two based on one version, one wins
        await a.apply(room, engine.Join(999, "host"))
        first, second = await asyncio.gather(
            a.apply(room, engine.Command(999, "play", 0)), b.apply(room, engine.Command(999, "pause", 0))
        )
        kinds = sorted(type(e).__name__ for e in [*first, *second])
        assert kinds == ["Rejected", "StateChanged"]
    finally:
        for hub in (a, b):
            await hub.redis.aclose()
        await flush_prefix(settings)


async def test_chat_and_presence_are_numbered_without_touching_the_room_state(settings: Settings) -> None:
    """Issue 13 (why 8): events are numbered by a counter of their own, so chat never rewrites the state (which,
    for 500 viewers, is about 35 KB) and never contends with commands for it."""
    hub = hub_for(settings)
    room = 4343
    try:
        for i in range(1, 501):
            await hub.apply(room, engine.Join(i, "member"))
        key = hub.key(room, "state")
        before = await hub.redis.get(key)
        numbered = [await hub.publish(room, [{"type": "chat", "message": {"id": i}}]) for i in range(50)]
        assert await hub.redis.get(key) == before, "the state was not written"
        assert [items[0]["seq"] for items in numbered] == list(range(1, 51))
        await hub.apply(room, engine.Join(999, "host"))
        events = await hub.apply(room, engine.Command(999, "play", 0))
        assert isinstance(events[0], engine.StateChanged)
        state, seq = await hub.snapshot(room)
        assert seq == 51 and not state.playback.paused  # the command's event follows the chat, in one numbering
        replay = await hub.missed(room, 49, state.epoch)
        assert replay is not None and [orjson.loads(r)["seq"] for r in replay] == [50, 51]
    finally:
        await hub.redis.aclose()
        await flush_prefix(settings)


async def test_the_lead_grows_with_the_slowest_players_reported_start_up(settings: Settings) -> None:
    """A change is scheduled far enough ahead for every viewer that reported lately to start on time: its
    start-up plus half its RTT plus 100 ms, from the default 300 ms up to 1.5 s."""
    hub = hub_for(settings, clock=lambda: 1_000_000.0)  # a clock that stands still: the schedule is exact
    room = 4444
    try:
        await hub.apply(room, engine.Join(1, "host"))
        await hub.apply(room, engine.Join(2, "member"))
        assert (await hub.params_for(room)).lead_ms == 300  # nobody has reported
        hub.record_skew(room, 1, 3.0, 40.0, buffering=False, startup_ms=120.0)  # needs 240: the default holds
        hub.record_skew(room, 2, -8.0, 300.0, buffering=False, startup_ms=700.0)  # a slow player: 700 + 150 + 100
        await hub.flush_skews()
        assert (await hub.params_for(room)).lead_ms == 950
        events = await hub.apply(room, engine.Command(1, "play", 0))
        changed = next(e for e in events if isinstance(e, engine.StateChanged))
        assert changed.execute_at == pytest.approx(1_000_000.95)  # scheduled with that lead
        hub.record_skew(room, 2, 0.0, 300.0, buffering=False, startup_ms=5000.0)
        await hub.flush_skews()
        assert (await hub.params_for(room)).lead_ms == 1500  # never more
    finally:
        await hub.redis.aclose()
        await flush_prefix(settings)
