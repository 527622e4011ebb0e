"""The fault test, short (issue 16, item 2; bench/faults.py): the reference deployment under steady traffic through
nginx (REST users, viewers over WebSockets, a stream of jobs) while an API process and a worker are killed with
SIGKILL, Redis is restarted empty, new PostgreSQL connections are refused for 10 s and nginx is reloaded; held to the
targets. `python -m bench faults` runs the full one (50 users, 300 viewers, 2 minutes) into docs/operations.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import SHORT, p95, report, run_plan
from tests.smtp import Mailbox

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]


async def test_faults_under_traffic_lose_nothing_and_viewers_come_back(smtp_server: Mailbox, tmp_path: Path) -> None:
    figures = await run_plan(SHORT, tmp_path, smtp_server)
    print("\n".join(report(SHORT, figures)))  # the figures of this run, in the test's output
    assert figures.bad_5xx == []
    assert figures.transport_errors == 0, figures.transport_kinds
    assert sum(map(len, figures.acknowledged.values())) > 50  # the traffic ran
    assert figures.writes_missing == 0
    assert figures.signups and figures.invites and figures.avatars
    assert figures.jobs_lost == []
    assert figures.jobs_twice == []
    assert figures.lost_on_pages == 0
    assert figures.chat_frames_twice == 0
    back = figures.back_after.get("kill-api", [])
    assert back, "killing an API process closed no viewer's socket"
    # the bound is 2 s (the full run reports it); CI may run on a machine kept busy by other work, where
    # a reconnect's ticket, handshake and welcome take longer: 3 s here
    assert p95(back) <= 3.0, sorted(back)
