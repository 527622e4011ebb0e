"""The access log's fast path writes exactly what logging would have written, redacted, to the same places."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from watchparty.core.logging import BufferedFileHandler, JsonFormatter, access_log, configure_logging, flush_logs


@pytest.fixture
def json_logs(tmp_path: Path) -> Iterator[Path]:
    """Production-style logging (JSON, combined.log) with nothing else on the root logger, as in a server."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    settings = make_settings("sqlite+aiosqlite://", tmp_path, log_dir=tmp_path / "logs", log_format="json")
    configure_logging(settings)
    ours = [h for h in root.handlers if getattr(h, "_watchparty", False)]
    try:
        yield tmp_path / "logs" / "combined.log"
    finally:
        for handler in ours:
            handler.close()
        root.handlers, root.level = saved_handlers, saved_level


@contextlib.contextmanager
def server_like_root() -> Iterator[None]:
    """Only our handlers on the root logger, as in a server: pytest adds its capturing handlers for the test's
    call phase, and those would (rightly) send access lines down the slow path."""
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [h for h in saved if getattr(h, "_watchparty", False)]
    try:
        yield
    finally:
        root.handlers = saved


def _lines(path: Path) -> list[dict[str, object]]:
    flush_logs()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fast_path_matches_the_formatter(json_logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert any(isinstance(h, BufferedFileHandler) for h in logging.getLogger().handlers)
    monkeypatch.setattr(access_log.logger, "info", None)  # the fast path never calls it
    with server_like_root():
        access_log.write("abc123", "GET", "/api/rooms", 200, 1.25)
    record = logging.LogRecord("watchparty.access", logging.INFO, "", 0, "GET /api/rooms 200 1.25ms", None, None)
    record.__dict__.update(request_id="abc123", method="GET", path="/api/rooms", status=200, duration_ms=1.25)
    expected = json.loads(JsonFormatter().format(record))
    (written,) = _lines(json_logs)
    assert list(written) == list(expected)  # same keys, same order
    assert {k: v for k, v in written.items() if k != "time"} == {k: v for k, v in expected.items() if k != "time"}
    assert isinstance(written["time"], str) and written["time"].endswith("Z")


def test_fast_path_redacts_the_path(json_logs: Path) -> None:
    with server_like_root():
        access_log.write("abc123", "GET", "/invite/SECRETSECRETSECRET", 200, 0.5)
        access_log.write("abc124", "GET", "/x/" + "a" * 300 + "/reset-password/SECRETSECRETSECRET", 404, 0.5)
    text = json_logs.read_text() if json_logs.exists() else ""
    lines = _lines(json_logs)
    assert len(lines) == 2 and "SECRET" not in text + json.dumps(lines)
    assert lines[0]["path"] == "/invite/[redacted]" and lines[0]["message"] == "GET /invite/[redacted] 200 0.5ms"


def test_a_capturing_handler_gets_the_line_through_logging(json_logs: Path) -> None:
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign,assignment]
    with server_like_root():
        logging.getLogger().addHandler(handler)
        access_log.write("abc125", "POST", "/api/rooms", 201, 3.0)
    assert [r.getMessage() for r in seen] == ["POST /api/rooms 201 3.0ms"]
    assert seen[0].__dict__["request_id"] == "abc125"
    assert [line["request_id"] for line in _lines(json_logs)] == ["abc125"]  # and the file still got it


def test_request_ids_are_unique_across_forked_workers() -> None:
    """granian forks its workers after importing the app: each must get its own request-id prefix."""
    from watchparty.core import middleware

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix and leave at once
        os.write(write, middleware._ID_PREFIX.encode())
        os._exit(0)
    os.close(write)
    child_prefix = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_prefix) == 12 and child_prefix != middleware._ID_PREFIX
