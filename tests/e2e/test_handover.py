"""The playlist's hand-overs between items (issue 14), measured on the true clock: simulated viewers
(watchparty.client) on two `watchparty serve` processes, 20–150 ms links with ±30 ms jitter, clock offsets up to
±2 s, a playlist of three short items played through by itself from one `play`. Run by `watchparty simulate
--playlist` in a process of its own, so that nothing in the test process delays its viewers."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow

DEAD_AIR_P95_MS = 1000  # the bounds
START_SPREAD_P95_MS = 100
LATE_JOIN_S = 3.0


async def test_three_items_hand_over_with_no_dead_air_and_a_late_joiner_is_in_sync(
    two: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watchparty", "simulate", "--url", a.url, "--url", b.url, "--viewers", "6",
        "--latency", "20-150", "--jitter", "30", "--offset", "2000", "--seed", "14", "--delay-jitter", "0.05",
        "--playlist", "--items", "3", "--seconds", "15", "--late", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 150)
    text = out.decode()
    assert proc.returncode == 0, text
    stats = json.loads(text.strip().splitlines()[-1])
    assert stats["hand_overs"] == 2 and stats["viewers"] == 6, text
    assert stats["dead_air_p95_ms"] <= DEAD_AIR_P95_MS, text
    assert stats["start_spread_p95_ms"] <= START_SPREAD_P95_MS, text
    assert stats["late_join_in_sync_s"] is not None and stats["late_join_in_sync_s"] <= LATE_JOIN_S, text
    assert "dead air p50" in text  # and it told a person
