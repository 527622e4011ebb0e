"""A redis-server of a test's own, on its own port, to kill, freeze and restart without harming anyone else."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from watchparty.core.embedded_redis import find_server_binary


class OwnRedis:
    """A redis-server of this test's own, on its own port, so that stopping it harms nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> dict[str, str]:
        """The settings that put an app's queues, hub and rate limits (database 0) and cache (1) on this server."""
        return {"redis_url": f"redis://127.0.0.1:{self.port}/0", "cache_redis_url": f"redis://127.0.0.1:{self.port}/1"}

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                find_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(7).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
