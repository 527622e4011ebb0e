"""Logging: readable in development, JSON in production, request ids, and no secrets."""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import functools
import io
import logging
import logging.handlers
import re
import sys
import time
from pathlib import Path

import orjson

from watchparty.config import Settings

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Defence in depth: nothing should log these, but if anything does, they are masked.
_SECRET_PATTERNS = [
    (re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"), "[jwt]"),
    (
        re.compile(r"(?i)((?:token|ticket|password|secret|refreshToken)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}\\]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(/(?:invite|reset-password)/)[\w-]{10,}"), r"\1[redacted]"),
]


# One cheap search first: most lines contain none of these, and the three substitutions cost about 13 µs a line.
_SUSPECT = re.compile(r"eyJ|oken|icket|assword|ecret|/invite/|/reset-password/", re.IGNORECASE)


def _redact_path(path: str) -> str:
    return _redact_short_path(path) if len(path) <= 200 else redact(path)


@functools.lru_cache(maxsize=4096)
def _redact_short_path(path: str) -> str:  # a server sees the same few paths again and again; at most ~1 MiB
    return redact(path)


def redact(text: str) -> str:
    if _SUSPECT.search(text) is None:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Built with orjson and a per-second timestamp cache: it runs on every request."""

    def format(self, record: logging.LogRecord) -> str:
        extra = {key: record.__dict__.get(key) for key in _EXTRA_KEYS}
        exc = self.formatException(record.exc_info) if record.exc_info else None
        return json_line(
            record.created,
            record.levelname.lower(),
            record.name,
            getattr(record, "request_id", "-"),
            record.getMessage(),
            extra,
            exc,
        )


_EXTRA_KEYS = ("method", "path", "status", "duration_ms")
_stamp_second = _stamp_ms = -1
_stamp = _stamp_full = ""


def json_line(
    created: float,
    level: str,
    logger: str,
    request_id: str,
    message: str,
    extra: dict[str, object] | None = None,
    exc: str | None = None,
    *,
    redacted: bool = False,
) -> str:
    """The JSON form of a log line (no newline), redacted unless the caller has redacted its parts already. The one
    place that decides what a JSON line holds."""
    payload: dict[str, object] = {
        "time": _timestamp(created),
        "level": level,
        "logger": logger,
        "request_id": request_id,
        "message": message,
    }
    if extra:
        payload.update({key: value for key, value in extra.items() if value is not None})
    if exc is not None:
        payload["exc"] = exc
    line = orjson.dumps(payload, default=str).decode()
    return line if redacted else redact(line)


def _timestamp(created: float) -> str:
    global _stamp_second, _stamp, _stamp_ms, _stamp_full
    ms = int(created * 1000)
    if ms == _stamp_ms:
        return _stamp_full
    second = ms // 1000
    if second != _stamp_second:
        _stamp_second, _stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    _stamp_ms, _stamp_full = ms, f"{_stamp}.{ms % 1000:03d}Z"
    return _stamp_full


class _LineBuffered(logging.Handler):
    """Whole lines into a 64 KiB buffer, flushed at most every 0.2 s, or at once for warnings and errors.

    With one access line per request, a flush (a write system call) per line cost about a fifth of the cache's hit
    path throughput. At most 0.2 s of INFO lines can be lost if the process is killed.
    """

    _flushed_at = 0.0

    def _start_buffering(self) -> None:
        self._flushed_at = time.monotonic()
        atexit.register(self._final_flush)

    def _final_flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the descriptor may already be gone at exit
            self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record), urgent=record.levelno >= logging.WARNING)
        except Exception:
            self.handleError(record)

    def write_line(self, line: str, urgent: bool = False) -> None:
        """A finished line: the access log's way in, without a LogRecord or a Formatter (see AccessLog)."""
        now = time.monotonic()
        stream = self._line_stream(now)
        stream.write(line + "\n")
        if urgent or now - self._flushed_at >= 0.2:
            self._flushed_at = now
            stream.flush()

    def _line_stream(self, now: float) -> io.TextIOWrapper:
        raise NotImplementedError


class BufferedStreamHandler(_LineBuffered, logging.StreamHandler):  # type: ignore[type-arg]
    """The console (stderr), when it is not a terminal."""

    def __init__(self, fd: int) -> None:
        logging.StreamHandler.__init__(self, open(fd, "w", buffering=65536, encoding="utf-8", closefd=False))  # noqa: SIM115
        self._start_buffering()

    def _line_stream(self, now: float) -> io.TextIOWrapper:
        stream: io.TextIOWrapper = self.stream
        return stream


class BufferedFileHandler(_LineBuffered, logging.handlers.WatchedFileHandler):
    """combined.log: buffered like the console, and checked for rotation (logrotate moving the file) once a second
    instead of with a stat() per line."""

    def __init__(self, path: Path) -> None:
        logging.handlers.WatchedFileHandler.__init__(self, path, encoding="utf-8")
        self._checked_at = time.monotonic()
        self._start_buffering()

    def _open(self) -> io.TextIOWrapper:
        stream = open(self.baseFilename, self.mode, buffering=65536, encoding=self.encoding)  # noqa: SIM115
        assert isinstance(stream, io.TextIOWrapper)
        return stream

    def _line_stream(self, now: float) -> io.TextIOWrapper:
        if now - self._checked_at >= 1.0:
            self._checked_at = now
            self.reopenIfNeeded()
        if self.stream is None:
            self.stream = self._open()
        return self.stream


class AccessLog:
    """The access line, one per request.

    In JSON mode, while the root logger has exactly the handlers configure_logging gave it, the line is built by
    json_line() and handed to those handlers directly: no LogRecord, filter or Formatter (tests/unit/test_access_log.py
    checks it writes what the Formatter would). Under load that path cost
    about 20 µs a request, more than the rest of a cache hit. Otherwise (text logs, a test's capturing handler)
    the line goes through logging as any other.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger("watchparty.access")
        self._root_handlers: list[logging.Handler] = []
        self._sinks: list[BufferedStreamHandler | BufferedFileHandler] = []

    def use(self, handlers: list[logging.Handler], json: bool) -> None:
        """Called by configure_logging with the root handlers it installed."""
        takers = [h for h in handlers if h.level <= logging.INFO]
        self._sinks = [h for h in takers if isinstance(h, BufferedStreamHandler | BufferedFileHandler)]
        fast = json and len(self._sinks) == len(takers)
        self._root_handlers = list(handlers) if fast else []

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, request_id: str, method: str, path: str, status: int, duration_ms: float) -> None:
        """`request_id` is a validated token and `method` an HTTP token; only the path can carry a secret."""
        path = _redact_path(path)
        message = f"{method} {path} {status} {duration_ms}ms"
        extra: dict[str, object] = {"method": method, "path": path, "status": status, "duration_ms": duration_ms}
        if (
            self._root_handlers
            and logging.root.handlers == self._root_handlers
            and not self.logger.handlers
            and self.logger.propagate
        ):
            line = json_line(time.time(), "info", self.logger.name, request_id, message, extra, redacted=True)
            for sink in self._sinks:
                sink.write_line(line)
        else:
            self.logger.info(message, extra={**extra, "request_id": request_id})


access_log = AccessLog()


def flush_logs() -> None:
    """Write out what the buffered handlers hold (tests read log files; shutdown)."""
    for handler in logging.root.handlers:
        with contextlib.suppress(OSError, ValueError):
            handler.flush()


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_watchparty", False):
            root.removeHandler(handler)
    formatter: logging.Formatter
    if settings.json_logs:
        formatter = JsonFormatter()
    else:
        formatter = RedactingFormatter("%(asctime)s %(levelname)-5s [%(request_id)s] %(name)s: %(message)s")
    console: logging.Handler
    if settings.json_logs and sys.stderr is not None and sys.stderr.isatty() is False:
        console = BufferedStreamHandler(sys.stderr.fileno())
    else:
        console = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [console]
    if settings.log_dir is not None:
        log_dir = Path(settings.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        combined = BufferedFileHandler(log_dir / "combined.log")
        errors = logging.handlers.WatchedFileHandler(log_dir / "error.log", encoding="utf-8")
        errors.setLevel(logging.ERROR)
        handlers += [combined, errors]
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        handler._watchparty = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    access_log.use(handlers, json=settings.json_logs)
    # The optimisations the logging documentation lists: no caller lookup (sys._getframe) and no thread or process
    # details, which no formatter here prints. Together about 3 µs per access line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for noisy in ("sqlalchemy.engine", "aiosqlite", "asyncio", "multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
