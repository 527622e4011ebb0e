"""Decoding is bounded in memory for every format: a real `watchparty worker` decodes 8 hostile avatars at once
(the most pixels accepted, in a file of a few dozen KiB) and its peak stays within AVATAR_DECODE_MEMORY_MB."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import fresh_database, make_settings
from tests.e2e.conftest import start_worker, stop_server, wait_completed, worker_env
from tests.images import hostile
from watchparty.config import Settings
from watchparty.core.db import Database
from watchparty.users import service as users_service

pytestmark = pytest.mark.slow

BUDGET_MB = 512  # the default
# Above the budget: the Python side of eight jobs, the thread pool's stacks, the encoders' buffers, the allocator.
SLACK_MB = 96


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
async def test_eight_hostile_avatars_at_once(settings: Settings, tmp_path: Path, fmt: str) -> None:
    data = hostile(fmt)
    async with fresh_database(tmp_path) as url:
        s = make_settings(url, tmp_path, key_prefix=f"{settings.key_prefix}-mem-{fmt.lower()}")
        db = Database(s)
        try:
            jobs = []
            async with db.session() as session:
                for i in range(8):
                    user = await users_service.create_user(
                        session, email=f"m{i}@example.com", username=f"mem{i}", password_hash="x"
                    )
                    jobs.append(await users_service.accept_avatar(session, s, user, data))
        finally:
            await db.dispose()
        env = worker_env(s) | {"WORKER_CONCURRENCY": "8", "AVATAR_DECODE_MEMORY_MB": str(BUDGET_MB)}
        proc, log = start_worker(tmp_path, env)
        try:
            idle = _status_mb(proc.pid, "VmRSS")
            for job in jobs:
                await wait_completed(s, job, timeout=120)
            peak = _status_mb(proc.pid, "VmHWM")
        finally:
            stop_server(proc)
    grown = peak - idle
    print(f"{fmt}: {len(data) // 1024} KiB files, 8 at once: peak {peak:.0f} MiB, {grown:.0f} MiB above idle")
    assert grown <= BUDGET_MB + SLACK_MB, f"{grown:.0f} MiB above idle:\n{log.read_text()[-2000:]}"
