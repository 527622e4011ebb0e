"""A crash point for the kill test: nothing happens unless DEBUG_CRASH_FILE is set (refused in production)."""

from __future__ import annotations

import logging
import os
import signal

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
