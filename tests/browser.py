"""Debian's Chromium driven by Playwright, as DEVELOPERS.md prescribes: never a downloaded browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocket, async_playwright

from watchparty.sync.protocol import validate_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _check_frames(page: Page, bad: list[str]) -> None:
    """Every frame the page's room socket receives is checked against its definition in watchparty.sync.protocol."""

    def on_socket(ws: WebSocket) -> None:
        def on_frame(payload: Any) -> None:
            try:
                validate_server(payload if isinstance(payload, str | bytes) else str(payload))
            except Exception as exc:  # reported when the browser closes: a callback's raise would be lost
                bad.append(f"{ws.url}: {payload!r}: {exc}")

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The browser; each page's room-socket frames are checked against the protocol's definitions, and a frame
    that does not match fails the test when the browser closes."""
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium")
    bad: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        new_context = browser.new_context

        async def checked_context(*args: Any, **kwargs: Any) -> BrowserContext:
            context = await new_context(*args, **kwargs)
            context.on("page", lambda page: _check_frames(page, bad))
            return context

        browser.new_context = checked_context  # type: ignore[method-assign]
        try:
            yield browser
        finally:
            await browser.close()
    assert not bad, bad[:5]


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"  # npm, package-lock.json


async def serious_axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    # evaluated through the devtools protocol: the page's CSP (no inline scripts) stays as it is
    await page.evaluate(AXE.read_text() + "\n;undefined")
    result = await page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[(n['target'], n['failureSummary']) for n in v['nodes']][:4]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
