"""Logs carry request ids, go to logs/combined.log and logs/error.log, and never contain secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings, smtp_settings
from tests.integration.helpers import PASSWORD, link_token
from tests.smtp import Mailbox
from watchparty.app import create_app
from watchparty.config import Settings
from watchparty.core.logging import configure_logging, flush_logs, redact


@pytest.fixture
async def logged(
    settings: Settings, tmp_path: Path, client: httpx.AsyncClient, mailbox: Mailbox
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    # this app runs the job worker too, so that the email job's logs are searched for secrets as well
    s = make_settings(
        settings.database_url,
        tmp_path,
        log_dir=tmp_path / "logs",
        log_level="DEBUG",
        log_format="json",
        worker_in_process=True,
        **smtp_settings(mailbox),
    )
    app = create_app(s)
    try:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as c,
        ):
            yield c, s
    finally:
        configure_logging(settings)


async def test_no_secrets_in_logs(logged: tuple[httpx.AsyncClient, Settings], mailbox: Mailbox) -> None:
    client, s = logged
    r = await client.post(
        "/api/auth/register", json={"email": "z@example.com", "username": "zed", "password": PASSWORD}
    )
    data = r.json()["data"]
    secrets = [PASSWORD, data["token"], data["refreshToken"]]
    r = await client.post("/api/auth/refresh", json={"refreshToken": data["refreshToken"]})
    secrets += [r.json()["data"]["token"], r.json()["data"]["refreshToken"]]
    await client.post("/api/auth/login", json={"email": "z@example.com", "password": "wrong password!"})
    await client.post("/api/auth/forgot-password", json={"email": "z@example.com"})
    reset = link_token(await mailbox.one_to("z@example.com", "Reset"), r"(http://\S+reset-password\?token=[\w-]+)")
    secrets += [reset, reset.split("token=")[1]]
    await client.post("/api/auth/reset-password", json={"token": reset.split("token=")[1], "password": "new password!"})
    await client.get("/api/auth/profile", headers={"Authorization": f"Bearer {data['token']}"})
    logging.getLogger("watchparty.test").info("password=%s token=%s", "hunter2hunter2", data["token"])
    secrets.append("hunter2hunter2")

    flush_logs()  # combined.log is buffered (up to 0.2 s)
    combined = (s.log_dir / "combined.log").read_text()  # type: ignore[operator]
    assert "POST /api/auth/register" in combined and "/api/auth/reset-password" in combined
    for secret in secrets:
        assert secret not in combined
    lines = [json.loads(line) for line in combined.splitlines()]
    access = [x for x in lines if x["logger"] == "watchparty.access"]
    assert access and all(len(x["request_id"]) >= 8 for x in access)


async def test_error_log_gets_errors_only(logged: tuple[httpx.AsyncClient, Settings]) -> None:
    _, s = logged
    logging.getLogger("watchparty.test").error("something broke")
    logging.getLogger("watchparty.test").info("all fine")
    errors = (s.log_dir / "error.log").read_text()  # type: ignore[operator]
    assert "something broke" in errors and "all fine" not in errors


def test_redact_masks_tokens_and_links() -> None:
    assert "abc" not in redact("GET /invite/abcdefghijklmnop?x=1")
    assert redact('{"refreshToken": "abcdef"}') == '{"refreshToken": "[redacted]"}'
    assert redact("password=hunter2 ok") == "password=[redacted] ok"
    # inside an already-encoded JSON line, redaction keeps the escapes intact
    line = json.dumps({"message": 'href="x?token=abc\\" q'})
    assert json.loads(redact(line)) == {"message": 'href="x?token=[redacted]\\" q'}
