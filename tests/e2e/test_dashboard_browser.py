"""The queue dashboard in a real browser (Debian's Chromium): an admin sees counts and a failed job with its
reason and retries it; a regular user is told the page is for admins; it fits a phone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser import chromium, serious_axe_violations
from tests.conftest import fresh_database, make_settings
from tests.e2e.conftest import LiveServer, promote, server_env, start_server, stop_server
from tests.integration.helpers import PASSWORD
from tests.smtp import Mailbox
from watchparty.config import Settings
from watchparty.core.db import Database
from watchparty.jobs import outbox
from watchparty.jobs.queues import EMAIL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def dash_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    """The dashboard server's own database, and settings for the test to write to it directly."""
    tmp = tmp_path_factory.mktemp("dash-db")
    async with fresh_database(tmp) as url:
        yield make_settings(url, tmp)


@pytest.fixture(scope="module")
def dash_server(
    settings: Settings, dash_db: Settings, smtp_server: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = server_env(
        settings,
        dash_db.database_url,
        f"{settings.key_prefix}-dash",
        WORKER_IN_PROCESS="true",
        JOB_BACKOFF_MS="50",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port),
    )
    proc, server = start_server(tmp_path_factory.mktemp("dash"), env)
    try:
        yield server
    finally:
        stop_server(proc)


async def account(server: LiveServer, db_settings: Settings, name: str, *, admin: bool) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/auth/register", json={"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        user_id = r.json()["data"]["user"]["id"]
    if admin:
        await promote(db_settings.database_url, user_id)
    return f"{name}@example.com"


async def poison_job(db_settings: Settings) -> str:
    db = Database(db_settings)
    try:
        async with db.session() as session:
            data = {"template": "no_such_template", "to": "x@example.com", "context": {}, "messageId": "<p@x>"}
            return await outbox.enqueue(session, EMAIL, "welcome", data)
    finally:
        await db.dispose()


async def sign_in(page: Page, server: LiveServer, email: str) -> None:
    await page.goto(f"{server.url}/admin/queues/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_admin_sees_counts_and_failures_and_retries(
    dash_server: LiveServer, dash_db: Settings, tmp_path: Path, smtp_server: Mailbox
) -> None:
    email = await account(dash_server, dash_db, "chief", admin=True)
    job_id = await poison_job(dash_db)
    async with chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, dash_server, email)
        row = page.locator(f'#failed tr[data-job="{job_id}"]')
        await expect(row).to_be_visible(timeout=20_000)
        await expect(row).to_contain_text("unknown email template 'no_such_template'")
        await expect(page.locator("#sign-in")).to_be_hidden()
        await expect(page.locator('#counts tr[data-queue="email"] td.failed-count')).to_have_text("1")
        await expect(page.locator('#counts tr[data-queue="email"] td').nth(3)).not_to_have_text("0")  # welcome
        await page.screenshot(path=str(tmp_path / "queue-dashboard.png"), full_page=True)
        # the app's colours, AA in both themes, and the way back to the app
        for scheme in ("dark", "light"):
            await page.emulate_media(color_scheme=scheme)
            assert await serious_axe_violations(page) == [], scheme
        await expect(page.get_by_role("link", name="Back to WatchParty")).to_have_attribute("href", "/")

        retry = row.get_by_role("button", name=f"Retry job {job_id}")
        await retry.focus()
        await page.keyboard.press("Enter")  # usable from the keyboard
        banner = page.locator("#banner")
        await expect(banner).to_contain_text(f"Job {job_id} is queued again")
        await asyncio.sleep(3.5)  # past the next automatic refresh: the outcome stays up
        await expect(banner).to_contain_text(f"Job {job_id} is queued again")
        assert errors == []


async def test_a_regular_user_is_told_it_is_for_admins(dash_server: LiveServer, dash_db: Settings) -> None:
    email = await account(dash_server, dash_db, "pleb", admin=False)
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, dash_server, email)
        await expect(page.locator("#banner")).to_have_text(
            "This page is for administrators, and your account is not one."
        )
        await expect(page.locator("#board")).to_be_hidden()
        async with httpx.AsyncClient(base_url=dash_server.url) as http:
            assert (await http.get("/admin/queues/")).headers["x-frame-options"] == "DENY"


async def test_the_dashboard_fits_a_phone(dash_server: LiveServer, dash_db: Settings, tmp_path: Path) -> None:
    email = await account(dash_server, dash_db, "mobile", admin=True)
    await poison_job(dash_db)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await sign_in(page, dash_server, email)
        await expect(page.locator("#counts tbody tr")).to_have_count(5, timeout=20_000)  # one row a queue
        await asyncio.sleep(0.2)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px of sideways scrolling on a phone"
        await page.screenshot(path=str(tmp_path / "queue-dashboard-phone.png"), full_page=True)
