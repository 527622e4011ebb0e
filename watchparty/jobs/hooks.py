"""Hooks around a running job: the kill test's crash point (nothing happens unless DEBUG_CRASH_FILE is set, which
production refuses), and the job a handler runs for, to report progress on."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from contextvars import ContextVar
from typing import Any

from watchparty.config import Settings

log = logging.getLogger("watchparty.jobs")


def crash_point(settings: Settings, name: str) -> None:
    """If the crash file exists and names this point, delete it and die at once, as `kill -9` would."""
    path = settings.debug_crash_file
    if path is None or not path.exists():
        return
    if path.read_text().strip() != name:
        return
    path.unlink()
    log.warning("crash point %s reached: SIGKILL", name)
    os.kill(os.getpid(), signal.SIGKILL)


# The bullmq job a handler runs for, set by the runner around each call: a long job reports its progress on it.
running_job: ContextVar[Any] = ContextVar("watchparty_running_job", default=None)


async def report_progress(job: Any, value: float) -> None:
    """The job's progress as the queue API shows it; a Redis hiccup only skips one report."""
    if job is None:
        return
    try:
        async with asyncio.timeout(2):
            await job.updateProgress(round(value, 3))
    except Exception as exc:  # the next report carries it
        log.debug("progress report skipped: %s", exc)
