"""The web client in a real browser (Debian's Chromium, two browser contexts), against a real `watchparty serve`
on PostgreSQL and Redis, with invites and reset links read from a real SMTP server. No autoplay-policy flag:
the client must cope with whatever the browser allows. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import io
import itertools
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.browser import chromium, serious_axe_violations
from tests.e2e.conftest import PROJECT, LiveServer, promote, server_env, start_server, stop_server
from tests.media import local_clip_url, make_clip, make_hls, media_server
from tests.smtp import Mailbox
from watchparty.config import Settings

pytestmark = pytest.mark.slow

SYNC_MS = 250  # the bound between the two <video> elements
SAMPLE = "/sample/countdown.webm"
SHOTS = PROJECT / "test-artifacts" / "screenshots"
YOUTUBE_STANDIN = PROJECT / "tests" / "youtube_standin"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def web(
    settings: Settings, e2e_database_url: str, smtp_server: Mailbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    limits = {
        f"RATE_LIMIT_{name}": "10000/minute"
        for name in ("LOGIN", "LOGIN_ACCOUNT", "LOGIN_IP", "FORGOT", "FORGOT_IP", "INVITE")
    }
    with media_server(YOUTUBE_STANDIN) as youtube:  # no internet here: a local stand-in of the IFrame Player API
        env = server_env(
            settings,
            e2e_database_url,
            f"{settings.key_prefix}-web",
            WORKER_IN_PROCESS="true",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_server.port),
            YOUTUBE_API_URL=f"{youtube.url}/iframe_api.js",
            UPLOAD_CHUNK_BYTES=str(256 * 1024),  # small chunks: a test upload of a few MB is many of them
            **limits,
        )
        proc, server = start_server(tmp_path_factory.mktemp("web"), env)
        try:
            yield server
        finally:
            stop_server(proc)


def link_in(mail: Any, path: str) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://\S+{path}\S+", text)
    assert match, text
    return match.group(0)


async def sign_up(page: Page, name: str) -> None:
    await page.get_by_label("Email").fill(f"{name}@example.com")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.locator("#toast")).to_contain_text(f"Welcome, {name}!")


async def video_state(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        """() => { const v = document.querySelector('video'), u = document.querySelector('#unmute');
        return {t: v.currentTime, at: Date.now(), paused: v.paused, muted: v.muted, rate: v.playbackRate,
                unmuteShown: !u.hidden}; }"""
    )
    return result


async def skews_ms(a: Page, b: Page, samples: int = 5) -> list[float]:
    """A's position carried to the moment B's was read, minus B's: both read through the page, on one clock."""
    out = []
    for _ in range(samples):
        sa, sb = await video_state(a), await video_state(b)
        out.append((sa["t"] + (sb["at"] - sa["at"]) / 1000 * sa["rate"] - sb["t"]) * 1000)
        await a.wait_for_timeout(200)
    return out


async def both_playing(a: Page, b: Page, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sa, sb = await video_state(a), await video_state(b)
        if not sa["paused"] and not sb["paused"] and sa["t"] > 0 and sb["t"] > 0:
            return
        await a.wait_for_timeout(100)
    raise AssertionError(f"not both playing: A {await video_state(a)}, B {await video_state(b)}")


async def in_sync(a: Page, b: Page, *, within_s: float = 6) -> list[float]:
    """Both playing and within SYNC_MS of each other over a second of samples, within `within_s`."""
    await both_playing(a, b)
    deadline = time.monotonic() + within_s
    while True:
        skews = await skews_ms(a, b)
        if max(abs(s) for s in skews) <= SYNC_MS:
            return skews
        if time.monotonic() > deadline:
            raise AssertionError(f"out of sync: {[round(s) for s in skews]} ms")


async def act_on(page: Page, name: str, action: str) -> None:
    """Open the actions menu of `name` in the people list and choose `action`. The list is drawn again when anyone's
    presence changes, which closes an open menu, so the menu is opened again until the action can be chosen (a
    deadline, not a moment: on a busy machine a join's presence updates arrive late)."""
    row = page.locator("#people li", has_text=name)
    button = row.get_by_role("button", name=action, exact=True)
    deadline = time.monotonic() + 30
    while True:
        if not await button.is_visible():
            await page.get_by_label(f"Actions for {name}").click()
        try:
            await button.click(timeout=2_000)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def test_two_people_watch_in_sync_and_chat(web: LiveServer, smtp_server: Mailbox) -> None:
    async with chromium() as browser:
        ctx_a = await browser.new_context(
            viewport={"width": 1280, "height": 820}, base_url=web.url, color_scheme="dark"
        )
        ctx_b = await browser.new_context(viewport={"width": 1280, "height": 820}, base_url=web.url)
        a, b = await ctx_a.new_page(), await ctx_b.new_page()
        errors: list[str] = []
        for page in (a, b):
            page.on("pageerror", lambda e: errors.append(str(e)))

        # 1. A signs up and creates a room with the sample video (a new movie, by its URL)
        await a.goto("/")
        await a.get_by_role("link", name="Sign up").click()
        await sign_up(a, "alice")
        await expect(a.get_by_role("heading", name="Public rooms")).to_be_visible()
        await a.get_by_role("link", name="New room").first.click()
        await a.get_by_label("Name").fill("Friday film")
        await a.get_by_label("Movie").select_option("new")
        await a.get_by_label("Title").fill("Countdown")
        await a.get_by_label("Video URL").fill(SAMPLE)
        await a.get_by_role("button", name="Create the room").click()
        await expect(a).to_have_url(re.compile(r"/rooms/\d+$"))
        await expect(a.locator("#connection")).to_have_text("live")
        await expect(a.locator("#movie-title")).to_contain_text("Countdown")

        # 2. B signs up and joins through the emailed invite link
        await a.get_by_label("Invite a friend by email").fill("bob@example.com")
        await a.get_by_role("button", name="Send invite").click()
        await expect(a.locator("#toast")).to_contain_text("Invite sent to bob@example.com")
        invite = link_in(await smtp_server.one_to("bob@example.com", "invite"), "/invite/")
        await b.goto(invite)
        await expect(b).to_have_url(re.compile(r"/signin\?next="))
        await b.get_by_role("link", name="Create an account").click()
        await sign_up(b, "bob")
        await expect(b).to_have_url(a.url)
        await expect(b.locator("#connection")).to_have_text("live")
        await expect(a.locator("#people li", has_text="bob")).to_be_visible()

        # 3. A presses play: both play, within 250 ms of each other
        await a.get_by_role("button", name="Play").click()
        skews = await in_sync(a, b)
        await expect(b.get_by_role("button", name="Pause")).to_be_visible()  # B sees the room's state too

        # 4. A seeks to 3 s: both are there, and together again
        await a.wait_for_timeout(1500)
        await a.locator("#scrub").fill("3")
        await a.wait_for_timeout(800)
        sa, sb = await video_state(a), await video_state(b)
        assert 3.0 <= sa["t"] < 4.5 and 3.0 <= sb["t"] < 4.5, (sa, sb)
        skews += await in_sync(a, b)

        # 5. B chats; A sees it, with the video time it was sent at
        await b.get_by_label("Write a message").fill("this countdown is gripping")
        await b.get_by_label("Write a message").press("Enter")
        message = a.locator("#messages li", has_text="this countdown is gripping")
        await expect(message).to_be_visible()
        await expect(message.locator("button.at")).to_have_text(re.compile(r"0:0\d"))
        await expect(a.locator('#people li[data-user] .sync[data-status="in-sync"]')).to_have_count(2, timeout=10_000)
        # the timestamps: one tab stop together, the arrows move within them, 40×40 px to tap; B cannot seek the
        # room, so B's are not buttons to focus at all
        for text in ("second line", "third line"):
            await b.get_by_label("Write a message").fill(text)
            await b.get_by_label("Write a message").press("Enter")
            await expect(a.locator("#messages li", has_text=text)).to_be_visible()
        stamps = a.locator("#messages button.at")
        await expect(stamps).to_have_count(3)
        await expect(a.locator('#messages button.at[tabindex="0"]')).to_have_count(1)
        box = await stamps.first.bounding_box()
        assert box is not None and box["width"] >= 40 and box["height"] >= 40, box
        await a.locator('#messages button.at[tabindex="0"]').focus()
        await a.keyboard.press("ArrowUp")
        await expect(stamps.nth(1)).to_be_focused()
        await a.keyboard.press("Home")
        await expect(stamps.first).to_be_focused()
        await expect(a.locator('#messages button.at[tabindex="0"]')).to_have_count(1)
        await expect(b.locator("#messages button.at:not(:disabled)")).to_have_count(0)
        await shot(a, "room-host")
        await shot(b, "room-guest")

        # 6. B reloads (no user gesture now): back in sync; if the browser refused sound, it plays muted and offers
        # Unmute, which restores the sound
        await b.reload()
        await expect(b.locator("#connection")).to_have_text("live")
        await expect(b.locator("#messages li", has_text="this countdown is gripping")).to_have_count(1)
        skews += await in_sync(a, b)
        after = await video_state(b)
        assert after["muted"] == after["unmuteShown"], after
        if after["unmuteShown"]:
            await b.get_by_role("button", name="Unmute").click()
            assert not (await video_state(b))["muted"]
        await shot(b, "room-after-reload")
        assert max(abs(s) for s in skews) <= SYNC_MS
        assert not errors, errors


async def test_autoplay_refused_plays_muted_with_unmute(web: LiveServer) -> None:
    """The refusal itself, made certain without a browser flag: the page's video refuses an unmuted play() as a
    browser without a user gesture does; the client then plays muted, shows Unmute, and stays in sync."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "carol", "dave")
        await guest.add_init_script(
            """(() => { const play = HTMLMediaElement.prototype.play;
            HTMLMediaElement.prototype.play = function () {
              if (!this.muted) return Promise.reject(new DOMException('no gesture', 'NotAllowedError'));
              return play.call(this); }; })();"""
        )
        await guest.reload()
        await expect(guest.locator("#connection")).to_have_text("live")
        await host.get_by_role("button", name="Play").click()
        await expect(guest.get_by_role("button", name="Unmute")).to_be_visible()
        state = await video_state(guest)
        assert state["muted"] and not state["paused"]
        await in_sync(host, guest)


async def _room_with_two(
    browser: Browser, web: LiveServer, host_name: str, guest_name: str, video_url: str = SAMPLE
) -> tuple[Page, Page]:
    ctx_h = await browser.new_context(base_url=web.url)
    ctx_g = await browser.new_context(base_url=web.url)
    host, guest = await ctx_h.new_page(), await ctx_g.new_page()
    await host.goto("/signup")
    await sign_up(host, host_name)
    await host.goto("/rooms/new")
    await host.get_by_label("Name").fill(f"{host_name}'s room")
    await host.get_by_label("Movie").select_option("new")
    await host.get_by_label("Title").fill("Countdown")
    await host.get_by_label("Video URL").fill(video_url)
    await host.get_by_role("button", name="Create the room").click()
    await expect(host).to_have_url(re.compile(r"/rooms/\d+$"))
    room_path = host.url.removeprefix(web.url)
    await guest.goto(f"/signup?next={room_path}")
    await sign_up(guest, guest_name)
    await expect(guest.get_by_role("button", name="Join the room")).to_be_visible()
    await guest.get_by_role("button", name="Join the room").click()
    await expect(guest.locator("#connection")).to_have_text("live")
    await expect(host.locator("#connection")).to_have_text("live")
    return host, guest


async def test_pages_explain_errors_and_reset_a_password(web: LiveServer, smtp_server: Mailbox) -> None:
    async with chromium() as browser:
        page = await (await browser.new_context(base_url=web.url)).new_page()
        await page.goto("/signup")
        await sign_up(page, "erin")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("link", name="Sign in")).to_be_visible()

        # a wrong password is told plainly, in the form
        await page.goto("/signin")
        await page.get_by_label("Email").fill("erin@example.com")
        await page.get_by_label("Password").fill("not my password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator(".form-alert")).to_contain_text(re.compile("password", re.I))

        # a field the API refuses is marked next to its input
        await page.goto("/signup")
        await page.get_by_label("Email").fill("not-an-email")
        await page.get_by_label("Username").fill("x")
        await page.get_by_label("Password").fill("short")
        await page.get_by_role("button", name="Sign up").click()
        await expect(page.locator("#f-email")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#f-email-error")).not_to_be_empty()

        # the password policy: a hint while typing, the server's refusal in words, spaces kept as typed
        await page.get_by_label("Email").fill("fay@example.com")
        await page.get_by_label("Username").fill("fay")
        await page.get_by_label("Password").fill("1234567")
        await expect(page.locator("#f-password-hint")).to_have_text("1 more character needed.")
        await page.get_by_label("Password").fill("fay at the movies")
        await expect(page.locator("#f-password-hint")).to_contain_text("Leave your name and email out of it")
        await page.get_by_label("Password").fill("12345678")
        await page.get_by_role("button", name="Sign up").click()
        await expect(page.locator("#f-password-error")).to_contain_text("most common passwords")
        await page.get_by_label("Password").fill("  spaces kept as typed  ")
        await expect(page.locator("#f-password-hint")).to_have_text("Strong.")
        await page.get_by_role("button", name="Sign up").click()
        await expect(page.locator("#toast")).to_contain_text("Welcome, fay!")
        async with httpx.AsyncClient(base_url=web.url) as http:
            body = {"email": "fay@example.com", "password": "  spaces kept as typed  "}
            assert (await http.post("/api/auth/login", json=body)).status_code == 200
            body["password"] = "spaces kept as typed"
            assert (await http.post("/api/auth/login", json=body)).status_code == 401
        await page.get_by_role("button", name="Sign out").click()

        # forgot → the emailed link → a new password → signed in with it
        await page.goto("/signin")
        await page.get_by_role("link", name="Forgot your password?").click()
        await page.get_by_label("Email").fill("erin@example.com")
        await page.get_by_role("button", name="Send the link").click()
        await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        reset = link_in(await smtp_server.one_to("erin@example.com", "eset"), "/reset-password")
        await page.goto(reset)
        await page.get_by_label("New password").fill("a brand new password")
        await page.get_by_role("button", name="Set the password").click()
        await expect(page).to_have_url(re.compile(r"/signin$"))
        await page.get_by_label("Email").fill("erin@example.com")
        await page.get_by_label("Password").fill("a brand new password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#toast")).to_contain_text("Signed in as erin")
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

        # an unknown room is a readable page, not a blank one
        await page.goto("/rooms/999999")
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()


async def test_profile_picture_shows_the_processed_thumbnail(web: LiveServer, tmp_path: Path) -> None:
    picture = tmp_path / "me.png"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 90)).save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    async with chromium() as browser:
        page = await (await browser.new_context(base_url=web.url)).new_page()
        await page.goto("/signup")
        await sign_up(page, "frank")
        await page.goto("/profile")
        await page.get_by_label("JPEG, PNG or WebP").set_input_files(str(picture))
        await page.get_by_role("button", name="Upload").click()
        await expect(page.locator(".avatar-box img")).to_have_attribute(
            "src", re.compile(r"-thumbnail\.jpg$"), timeout=20_000
        )
        await expect(page.get_by_text("Done: this is your new picture.")).to_be_visible()
        src = await page.locator(".avatar-box img").get_attribute("src")
        assert src is not None
        response = await page.request.get(src)
        assert response.ok and response.headers["content-type"] == "image/jpeg"

        # a file that is not an image gets the API's reason, not a silent failure
        bad = tmp_path / "notes.png"
        bad.write_text("<html>not a picture</html>")
        await page.get_by_label("JPEG, PNG or WebP").set_input_files(str(bad))
        await page.get_by_role("button", name="Upload").click()
        alert = page.locator("#avatar-form .form-alert")
        await expect(alert).to_be_visible()
        await expect(alert).to_contain_text(re.compile("JPEG|PNG|WebP|image", re.I))


async def test_phone_layout_and_keyboard(web: LiveServer) -> None:
    async with chromium() as browser:
        host, _guest = await _room_with_two(browser, web, "gina", "hal")
        await host.set_viewport_size({"width": 390, "height": 844})
        await host.wait_for_timeout(300)
        overflow = await host.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the room page scrolls sideways by {overflow}px on a phone"
        await shot(host, "room-phone")
        # the controls are reachable and usable from the keyboard: focus Play, press Enter, the room plays
        await host.locator("#play").focus()
        await host.keyboard.press("Enter")
        await expect(host.get_by_role("button", name="Pause")).to_be_visible()
        await host.goto("/")
        overflow = await host.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        await expect(host.locator("#your-rooms").get_by_role("link", name=re.compile("gina's room"))).to_be_visible()


async def test_host_changes_the_movie_and_a_role(web: LiveServer) -> None:
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "ivy", "jack")
        token = await host.evaluate("JSON.parse(localStorage.getItem('watchparty.session')).token")
        r = await host.request.post(
            "/api/movies",
            data={"title": "Countdown, again", "videoUrl": f"{SAMPLE}?v=2"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status == 201, await r.text()

        # a member sees the controls but may not use them
        await expect(guest.get_by_role("button", name="Play")).to_be_disabled()
        await expect(guest.locator("#control-note")).to_contain_text("host and moderators")

        # the host picks another movie: both pages load it
        await host.get_by_text("Host settings").click()
        await host.get_by_label("Movie").select_option(label="Countdown, again")
        for page in (host, guest):
            await expect(page.locator("#movie-title")).to_contain_text("Countdown, again")
            await expect(page.locator("video")).to_have_attribute("src", f"{SAMPLE}?v=2")

        # the host makes the guest a moderator: the guest's controls come alive, and the guest's play plays both
        await host.get_by_label("Actions for jack").click()
        await host.locator("#people li", has_text="jack").get_by_role("button", name="Make moderator").click()
        await expect(guest.get_by_role("button", name="Play")).to_be_enabled()
        await expect(host.locator("#people li", has_text="jack").locator(".role")).to_have_text("moderator")
        await guest.get_by_role("button", name="Play").click()
        await in_sync(host, guest)


async def test_admins_reach_the_queue_dashboard_signed_in(web: LiveServer, e2e_database_url: str) -> None:
    async with chromium() as browser:
        page = await (await browser.new_context(base_url=web.url)).new_page()
        await page.goto("/signup")
        await sign_up(page, "kim")
        await expect(page.get_by_role("link", name="Queues")).to_have_count(0)  # not for a regular user
        user_id = await page.evaluate("JSON.parse(localStorage.getItem('watchparty.session')).user.id")
        await promote(e2e_database_url, user_id)
        await page.get_by_role("button", name="Sign out").click()
        await page.goto("/signin")
        await page.get_by_label("Email").fill("kim@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Queues").click()
        await expect(page).to_have_url(re.compile(r"/admin/queues/$"))
        await expect(page.locator("#board")).to_be_visible()  # the same session: no second sign-in
        await expect(page.locator("#sign-in")).to_be_hidden()


async def test_the_end_of_the_movie_and_a_host_hand_over_are_seen_live(web: LiveServer) -> None:
    """Issue 13 in the browser: the room learns the clip's length from a player (the catalogue has none), stops at
    the end for both pages, shown as the end and in sync, not drifting; play there starts again from 0. Then the
    host leaves, and the other page gets the controls without a reload."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "lena", "mona")
        polled: list[str] = []  # the sync status is pushed over the socket (issue 16, item 5): no page polls for it
        for page in (host, guest):
            page.on("request", lambda request: polled.append(request.url) if "sync-stats" in request.url else None)
        await expect(guest.get_by_role("button", name="Play")).to_be_disabled()
        await host.get_by_role("button", name="Play").click()
        await both_playing(host, guest)
        await host.evaluate("() => window.watchparty.link.command('seek', { position: 27 })")
        for page in (host, guest):
            await expect(page.locator("#control-note")).to_contain_text("The end.", timeout=20_000)
        for page in (host, guest):
            state = await video_state(page)
            assert state["paused"] and state["t"] > 29, state
            await expect(page.locator("#my-sync")).to_have_text("in sync", timeout=10_000)
        assert await guest.locator('#people [data-status="drifting"]').count() == 0
        await expect(guest.locator('#people li[data-user] [data-status="in-sync"]')).to_have_count(2, timeout=10_000)
        await shot(guest, "room-ended")
        await host.get_by_role("button", name="Play").click()
        await both_playing(host, guest)
        assert (await video_state(guest))["t"] < 10, "play at the end starts again from 0"

        host.on("dialog", lambda dialog: dialog.accept())
        await host.get_by_role("button", name="Leave this room").click()
        await expect(guest.get_by_role("button", name="Pause")).to_be_enabled(timeout=5_000)
        await expect(guest.locator(".host-panel")).to_be_visible()
        await guest.get_by_role("button", name="Pause").click()
        await expect(guest.get_by_role("button", name="Play")).to_be_visible()
        await guest.wait_for_function("() => document.querySelector('video').paused", timeout=5_000)
        assert polled == [], polled


async def test_a_shared_queue_is_built_reordered_vote_skipped_and_advances_by_itself(web: LiveServer) -> None:
    """Issue 14 in the browser: two people build a queue from the catalogue, the host reorders it (a button, then
    dragging), both vote to skip (the room asks for both), and at the end of an item the room moves to the next
    one by itself, playing, on both pages; every change is seen live on the other page."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "pia", "quin")
        token = await host.evaluate("() => JSON.parse(localStorage.getItem('watchparty.session')).token")
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=web.url, headers=auth) as http:
            for title in ("Second", "Third"):
                r = await http.post("/api/movies", json={"title": title, "videoUrl": SAMPLE, "durationSeconds": 30})
                assert r.status_code == 201, r.text
            room_id = int(host.url.rsplit("/", 1)[-1])

        async def add(page: Page, title: str) -> None:
            await page.locator("#pl-movie").focus()
            await expect(page.locator("#pl-movie option", has_text=title)).to_have_count(1)
            await page.locator("#pl-movie").select_option(label=title)
            await page.locator("#pl-add").get_by_role("button", name="Add").click()

        def titles(page: Page) -> Any:
            return page.locator("#playlist .pl-title")

        await add(host, "Second")
        await expect(titles(guest)).to_have_text(["Playing Countdown", "Second"])  # seen live
        await add(guest, "Third")  # members may add (membersAdd is on by default)
        for page in (host, guest):
            await expect(titles(page)).to_have_text(["Playing Countdown", "Second", "Third"])
        await host.get_by_role("button", name="Move Third up").click()
        await expect(titles(guest)).to_have_text(["Playing Countdown", "Third", "Second"])
        assert await guest.get_by_role("button", name="Move Third up").count() == 0  # members do not reorder
        second, third = (host.locator("#playlist li", has_text=name) for name in ("Second", "Third"))
        await second.drag_to(third)  # dragged onto Third: Second takes its place
        await expect(titles(guest)).to_have_text(["Playing Countdown", "Second", "Third"])
        await shot(guest, "room-playlist")

        async with httpx.AsyncClient(base_url=web.url, headers=auth) as http:  # both must vote: ratio 1
            version = (await http.get(f"/api/rooms/{room_id}/playlist")).json()["data"]["version"]
            r = await http.put(f"/api/rooms/{room_id}/playlist", json={"baseVersion": version, "skipRatio": 1})
            assert r.status_code == 200, r.text
        await guest.get_by_role("button", name="Vote to skip").click()
        await expect(host.locator("#pl-vote-skip")).to_have_text("Vote to skip (1/2)")
        await expect(guest.locator("#pl-vote-skip")).to_have_text("Skip voted (1/2)")
        await host.locator("#pl-vote-skip").click()
        for page in (host, guest):
            await expect(page.locator("#playlist .current")).to_contain_text("Second")
            await expect(page.locator("#movie-title")).to_contain_text("Second")

        await host.get_by_role("button", name="Play", exact=True).click()
        await both_playing(host, guest)
        await host.evaluate("() => window.watchparty.link.command('seek', { position: 26 })")
        for page in (host, guest):  # the end of Second: the room moves on to Third by itself, playing
            await expect(page.locator("#playlist .current")).to_contain_text("Third", timeout=20_000)
            await expect(page.locator("#movie-title")).to_contain_text("Third")
        await both_playing(host, guest)
        for page in (host, guest):
            state = await video_state(page)
            assert not state["paused"] and state["t"] < 10, state
        await in_sync(host, guest)


async def test_the_host_mutes_kicks_bans_and_undoes_it_from_the_log_each_seen_live(web: LiveServer) -> None:
    """Issue 15 in the browser: from the member menu the host mutes a member (their chat box says so at once), kicks
    them (they see why, the host sees it in the chat), lets them rejoin, bans them for an hour (the join page
    refuses them in words), and lifts the ban from the moderation log."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "nina", "otto")
        host.on("dialog", lambda dialog: dialog.accept())
        menu = host.locator("#people li", has_text="otto")

        await host.get_by_label("Actions for otto").click()
        await shot(host, "room-member-menu")
        await menu.get_by_role("button", name="Mute 10 min").click()
        await expect(guest.locator("#chat-input")).to_be_disabled()
        await expect(guest.locator("#chat-input")).to_have_attribute("placeholder", re.compile("You are muted until"))
        await expect(host.locator("#messages .notice").last).to_contain_text("otto was muted by you until")
        await expect(guest.locator("#messages .notice").last).to_contain_text("You were muted by nina")

        await host.get_by_label("Actions for otto").click()
        await menu.get_by_role("button", name="Kick").click()
        await expect(guest.locator("#removed")).to_contain_text("You were removed from this room")
        await expect(host.locator("#messages .notice").last).to_contain_text("otto was removed by you")
        await expect(host.locator("#people li", has_text="otto")).to_have_count(0)

        await guest.reload()  # a kick is no ban: back in with one click, still muted
        await guest.get_by_role("button", name="Join the room").click()
        await expect(guest.locator("#connection")).to_have_text("live")
        await expect(guest.locator("#chat-input")).to_be_disabled()

        await host.get_by_label("Actions for otto").click()
        await menu.get_by_label("Ban otto for").select_option(label="1 hour")
        await menu.get_by_role("button", name="Ban", exact=True).click()
        await expect(guest.locator("#removed")).to_contain_text("You are banned from this room")
        await guest.reload()
        await guest.get_by_role("button", name="Join the room").click()
        await expect(guest.locator(".form-alert")).to_contain_text("You are banned from this room until")
        await shot(host, "room-moderation")

        await host.get_by_text("Moderation log").click()
        await expect(host.locator('#modlog li[data-action="ban"]')).to_contain_text("nina: ban otto")
        await host.locator('#modlog li[data-action="ban"]').get_by_role("button", name="Undo").click()
        await expect(host.locator("#modlog li").first).to_contain_text("nina: unban otto")
        await guest.reload()  # the undo gave the membership back: straight into the room
        await expect(guest.locator("#connection")).to_have_text("live")
        guest.on("dialog", lambda dialog: dialog.accept())
        await guest.get_by_role("button", name="Leave this room").click()  # gone from the host's list, not "away"
        await expect(host.locator("#people li", has_text="otto")).to_have_count(0, timeout=15_000)


LINK_TO_PLAYING_S = 5.0  # the bound, at p95, in a fresh browser context


async def test_a_guest_joins_by_link_and_is_muted_kicked_and_banned_seen_live_on_every_page(web: LiveServer) -> None:
    """Issue 15 with three browsers: the host and a member watch; people open the room's link in fresh contexts
    and join with a name only, each playing in sync within LINK_TO_PLAYING_S (measured at p95 over five fresh
    contexts). The host then mutes the last guest, kicks them, and bans them; the member's page and the guest's
    see each step live, and a new guest identity from the same address is refused too."""
    async with chromium() as browser:
        host, member = await _room_with_two(browser, web, "rita", "sam")
        room_path = host.url.removeprefix(web.url)
        host.on("dialog", lambda dialog: dialog.accept())
        await host.get_by_role("button", name="Play", exact=True).click()
        await both_playing(host, member)

        took = []
        for i in range(5):
            context = await browser.new_context(base_url=web.url)
            guest = await context.new_page()
            start = time.monotonic()
            await guest.goto(room_path)
            await guest.get_by_label("Your name").fill(f"Guest {i}")
            await guest.get_by_role("button", name="Join as a guest").click()
            await guest.wait_for_function(
                """() => { const v = document.querySelector('video'), o = window.watchparty?.link.offsetFromRoomMs();
                return v && !v.paused && o !== null && o !== undefined && Math.abs(o) < 100; }""",
                timeout=20_000,
            )
            took.append(time.monotonic() - start)
            if i < 4:
                await context.close()
        p95 = sorted(took)[math.ceil(0.95 * len(took)) - 1]
        print(f"link to playing in sync: {[round(t, 2) for t in took]} s, p95 {p95:.2f} s")
        assert p95 <= LINK_TO_PLAYING_S, took
        await expect(guest.locator("#nav")).to_contain_text("Guest 4 (guest)")
        await expect(host.locator("#people li", has_text="Guest 4").locator(".role")).to_have_text("guest")
        await shot(guest, "room-guest-joined")

        await act_on(host, "Guest 4", "Mute 10 min")
        await expect(guest.locator("#chat-input")).to_be_disabled()
        await expect(member.locator("#messages .notice").last).to_contain_text("Guest 4 was muted by rita")

        await act_on(host, "Guest 4", "Kick")
        await expect(guest.locator("#removed")).to_contain_text("You were removed from this room")
        await expect(member.locator("#messages .notice").last).to_contain_text("Guest 4 was removed by rita")
        await guest.reload()
        await guest.get_by_role("button", name="Join the room").click()  # the same guest, back in
        await expect(guest.locator("#connection")).to_have_text("live")

        await act_on(host, "Guest 4", "Ban")
        await expect(guest.locator("#removed")).to_contain_text("You are banned from this room")
        await expect(member.locator("#messages .notice").last).to_contain_text("Guest 4 was banned by rita")
        # a new guest identity, from a fresh context (another device token) at the same address
        again = await (await browser.new_context(base_url=web.url)).new_page()
        await again.goto(room_path)
        await again.get_by_label("Your name").fill("Innocent")
        await again.get_by_role("button", name="Join as a guest").click()
        await expect(again.locator(".form-alert")).to_contain_text("You are banned from this room")


async def test_replies_reactions_mentions_links_and_deletion_are_seen_live(web: LiveServer) -> None:
    """Issue 15's chat in two browsers: a reply quotes its message, a reaction counts on the other page, @name
    marks the message for the one named, a link is a link and markup stays text, and a deletion removes the message
    from both pages."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "tina", "uma")
        host.on("dialog", lambda dialog: dialog.accept())
        await host.locator("#chat-input").fill("Which one next? See https://example.com/list <b>bold</b>")
        await host.locator("#chat-input").press("Enter")
        first = guest.locator("#messages li[data-id]").first
        await expect(first).to_contain_text("Which one next?")
        await expect(first.locator("a[href='https://example.com/list']")).to_have_attribute(
            "rel", re.compile("noopener")
        )
        await expect(first.locator("b")).to_have_count(0)  # markup is text
        await expect(first).to_contain_text("<b>bold</b>")

        await first.get_by_role("button", name="Reply to tina").click()
        await expect(guest.locator("#replying")).to_contain_text("Replying to tina")
        await guest.locator("#chat-input").fill("@tina Sintel, please")
        await guest.locator("#chat-input").press("Enter")
        reply = host.locator("#messages li[data-id]").last
        await expect(reply.locator(".quote")).to_contain_text("tina Which one next?")
        await expect(reply).to_have_class(re.compile("mentioned"))  # for tina; not for uma, who wrote it
        await expect(guest.locator("#messages li[data-id]").last).not_to_have_class(re.compile("mentioned"))

        await reply.get_by_label("React", exact=True).click()
        await reply.get_by_role("button", name="👍").click()
        theirs = guest.locator("#messages li[data-id]").last
        await expect(theirs.locator(".reaction")).to_have_text("👍 1")
        await expect(reply.locator(".reaction")).to_have_attribute("aria-pressed", "true")
        await theirs.locator(".reaction").click()  # uma adds hers: 2
        await expect(reply.locator(".reaction")).to_have_text("👍 2")
        await shot(host, "room-chat")

        await reply.get_by_role("button", name="Delete uma's message").click()  # the host may delete anyone's
        await expect(guest.locator("#messages li[data-id]")).to_have_count(1)
        await expect(host.locator("#messages li[data-id]")).to_have_count(1)


HLS_SKEW_P95_MS = 100  # the bound between two <video> elements playing one HLS stream


async def positions_at(page: Page, instants: list[float]) -> list[dict[str, float]]:
    """In one evaluation: at each instant (ms on the machine's clock, which both pages share) the video's position,
    rate and the exact moment it was read."""
    result: list[dict[str, float]] = await page.evaluate(
        """async (instants) => {
            const v = document.querySelector('video'), out = [];
            const now = () => performance.timeOrigin + performance.now();
            for (const t of instants) {
                await new Promise((r) => setTimeout(r, Math.max(0, t - now())));
                out.push({ at: now(), t: v.currentTime, rate: v.playbackRate, paused: v.paused });
            }
            return out;
        }""",
        instants,
    )
    return result


async def skews_at_shared_instants(
    a: Page, b: Page, *, start_in_s: float, seconds: float, read: Any = positions_at
) -> list[float]:
    """A minus B at the same instants (every 100 ms for `seconds`, from `start_in_s` on), each page's reading
    carried to the instant by its own rate: both pages read in one evaluation each (`read`), at once."""
    t0 = time.time() * 1000 + start_in_s * 1000
    instants = [t0 + i * 100 for i in range(int(seconds * 10))]
    ra, rb = await asyncio.gather(read(a, instants), read(b, instants))
    out = []
    for t, sa, sb in zip(instants, ra, rb, strict=True):
        pa = sa["t"] + (0 if sa["paused"] else (t - sa["at"]) / 1000 * sa["rate"])
        pb = sb["t"] + (0 if sb["paused"] else (t - sb["at"]) / 1000 * sb["rate"])
        out.append((pa - pb) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(abs(v) for v in values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def test_two_viewers_play_one_hls_stream_in_sync_and_each_picks_their_own_quality(
    web: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 20: an HLS VOD stream with two renditions (made here by ffmpeg, served from another origin with CORS)
    plays through hls.js in two contexts; their <video> elements agree within 100 ms at p95 after play, seek and
    a rate change; one viewer's rendition choice leaves the other's alone."""
    # a minute long: on a busy machine the measurements below take a while, and a stream at its end switches nothing
    master = make_hls(tmp_path_factory.mktemp("hls"), seconds=60)
    with media_server(master.parent) as cdn:
        async with chromium() as browser:
            host, guest = await _room_with_two(browser, web, "hana", "hugo", video_url=f"{cdn.url}/master.m3u8")
            for page in (host, guest):  # hls.js read the master playlist: Auto and both renditions
                await expect(page.locator("#quality option")).to_have_count(3, timeout=15_000)
            await expect(host.get_by_label("Quality (yours only)")).to_have_value("-1")

            skews: dict[str, list[float]] = {}
            await host.get_by_role("button", name="Play", exact=True).click()
            await both_playing(host, guest)
            skews["play"] = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
            await host.evaluate("() => window.watchparty.link.command('seek', { position: 20 })")
            await guest.wait_for_function("() => document.querySelector('video').currentTime >= 20", timeout=10_000)
            skews["seek"] = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
            await host.get_by_label("Playback speed").select_option("1.25")
            await guest.wait_for_function("() => document.querySelector('video').playbackRate >= 1.2", timeout=10_000)
            skews["rate"] = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
            for name, values in skews.items():
                assert p95(values) <= HLS_SKEW_P95_MS, f"after {name}: {[round(v) for v in values]} ms"
            print({name: round(p95(values), 1) for name, values in skews.items()})  # the closing note's figures

            # back near the start: on a busy machine the measurements above take long enough for the stream to reach
            # its end, where nothing switches any more
            await host.evaluate("() => window.watchparty.link.command('seek', { position: 5 })")
            await guest.wait_for_function("() => document.querySelector('video').currentTime < 15", timeout=15_000)
            # the guest pins the low rendition: theirs plays it, the host's stays automatic, and the room stays in sync
            await guest.get_by_label("Quality (yours only)").select_option(label="180p")
            # the pin is taken at once; it plays once hls.js has a 180p segment at the playhead, which on a busy
            # machine (a loaded CI run took over 30 s) is a while
            assert await guest.evaluate("() => !window.watchparty.player.current.hls.autoLevelEnabled")
            try:
                await guest.wait_for_function(
                    "() => window.watchparty.player.current.playingQuality === 1", timeout=60_000
                )
            except PlaywrightTimeoutError:
                state = await guest.evaluate(
                    """() => { const p = window.watchparty.player.current, v = document.querySelector('video');
                    return {current: p.hls.currentLevel, load: p.hls.loadLevel, next: p.hls.nextLevel,
                            t: v.currentTime, paused: v.paused, ready: v.readyState}; }"""
                )
                raise AssertionError(f"the guest's video never played the pinned rendition: {state}") from None
            assert await host.evaluate("() => window.watchparty.player.quality") == -1
            assert await host.evaluate("() => window.watchparty.player.current.hls.autoLevelEnabled")
            after = await skews_at_shared_instants(host, guest, start_in_s=1.0, seconds=2)
            assert p95(after) <= HLS_SKEW_P95_MS, f"after the guest's switch: {[round(v) for v in after]} ms"
            await shot(guest, "room-hls")


async def test_a_new_movie_is_checked_before_the_room_plays_it_and_a_page_address_is_refused_in_words(
    web: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 20: the "New room" form checks a new movie's URL and says why one will not play; it preselects no
    one else's movie, and a refused movie is never offered again."""
    root = tmp_path_factory.mktemp("site")
    (root / "watch.html").write_text("<!doctype html><title>Watch our film</title><video src=film.mp4></video>")
    make_clip(root, seconds=6, name="film.mp4")
    with media_server(root) as site:
        async with chromium() as browser:
            page = await (await browser.new_context(base_url=web.url)).new_page()
            await page.goto("/signup")
            await sign_up(page, "olga")
            await page.goto("/rooms/new")
            movie = page.get_by_label("Movie")
            assert await movie.input_value() in ("", await _sample_id(page))  # nothing of anyone else's
            await page.get_by_label("Name").fill("Olga's room")
            await movie.select_option("new")
            await page.get_by_label("Title").fill("The page")
            await page.get_by_label("Video URL").fill(f"{site.url}/watch.html")
            await page.get_by_role("button", name="Create the room").click()
            await expect(page.locator(".form-alert")).to_contain_text("web page, not a video", timeout=15_000)
            await expect(page).to_have_url(re.compile(r"/rooms/new$"))
            await shot(page, "new-room-refused")

            await page.get_by_label("Title").fill("The film")
            await page.get_by_label("Video URL").fill(f"{site.url}/film.mp4")
            await page.get_by_role("button", name="Create the room").click()
            await expect(page).to_have_url(re.compile(r"/rooms/\d+$"), timeout=15_000)
            await expect(page.locator("#movie-title")).to_have_text("▶ The film")

            await page.goto("/rooms/new")  # the refused one is not offered; the checked one is
            options = page.get_by_label("Movie").locator("option")
            await expect(options.filter(has_text="The film")).to_have_count(1)  # the form is drawn once movies load
            labels = await options.all_inner_texts()
            assert "The film" in labels and "The page" not in labels, labels


async def _sample_id(page: Page) -> str:
    movies = await page.evaluate("() => fetch('/api/movies?limit=100').then((r) => r.json())")
    return next((str(m["id"]) for m in movies["data"] if m["videoUrl"] == SAMPLE), "")


CUES = (
    "1\n00:00:01,000 --> 00:00:02,000\none\n\n"
    "2\n00:00:02,000 --> 00:00:03,500\ntwo\n\n"
    "3\n00:00:03,500 --> 00:00:06,000\nthree\n"
)


async def cue_at(page: Page, position: float) -> str:
    """The cue on screen once the page's video is at `position` (the room seeked there, paused)."""
    await page.wait_for_function(
        "(p) => { const v = document.querySelector('video');"
        " return Math.abs(v.currentTime - p) < 1e-3 && !v.seeking; }",
        arg=position, timeout=10_000,
    )  # fmt: skip
    await page.wait_for_timeout(100)  # the cues are updated as the browser's time marches on after a seek
    text: str = await page.evaluate(
        """() => { const t = [...document.querySelector('video').textTracks].find((x) => x.mode === 'showing');
                   return t && t.activeCues && t.activeCues.length ? t.activeCues[0].text : ''; }"""
    )
    return text


async def test_each_viewer_picks_their_own_subtitles_and_offset_and_the_right_cue_is_on_screen(web: LiveServer) -> None:
    """Issue 20: an SRT uploaded for the movie is served as WebVTT from our origin; each viewer picks the track and
    their own offset; at known positions the cue on screen is the right one within 50 ms, with and without an
    offset, and one viewer's choice leaves the other's alone; the choice is remembered across a reload."""
    async with chromium() as browser:
        host, guest = await _room_with_two(browser, web, "sara", "tomas", video_url=local_clip_url("subbed"))
        token = await host.evaluate("JSON.parse(localStorage.getItem('watchparty.session')).token")
        movie_id = await host.evaluate("window.watchparty.link.playback.mediaId")
        r = await host.request.post(
            f"/api/movies/{movie_id}/subtitles",
            multipart={"file": {"name": "en.srt", "mimeType": "application/x-subrip", "buffer": CUES.encode()},
                       "label": "English", "language": "en"},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert r.status == 201, await r.text()
        for page in (host, guest):
            await page.reload()
            await expect(page.locator("#connection")).to_have_text("live")
            await expect(page.get_by_label("Subtitles (yours only)")).to_be_visible()
            await page.get_by_label("Subtitles (yours only)").select_option(label="English (en)")
        await guest.get_by_label("Subtitle delay in seconds (yours only)").fill("0.5")
        await guest.get_by_label("Subtitle delay in seconds (yours only)").press("Enter")
        await guest.get_by_label("Subtitle delay in seconds (yours only)").blur()

        # 50 ms either side of each cue boundary: 2.0 s (3.5 s) for the host, 2.5 s (4.0 s) for the guest
        for position, host_cue, guest_cue in ((1.95, "one", "one"), (2.05, "two", "one"), (2.45, "two", "one"),
                                              (2.55, "two", "two"), (3.45, "two", "two"), (3.55, "three", "two"),
                                              (4.05, "three", "three")):  # fmt: skip
            await host.evaluate("(p) => window.watchparty.link.command('seek', { position: p })", position)
            assert (await cue_at(host, position), await cue_at(guest, position)) == (host_cue, guest_cue), position
        await shot(guest, "room-subtitles")

        await guest.reload()  # the guest's choice and offset are remembered in their browser
        await expect(guest.get_by_label("Subtitles (yours only)")).to_have_value(
            str(r and (await r.json())["data"]["id"])
        )
        await expect(guest.get_by_label("Subtitle delay in seconds (yours only)")).to_have_value("0.50")
        await host.get_by_label("Subtitles (yours only)").select_option("off")  # the host's choice is theirs alone
        await expect(guest.get_by_label("Subtitles (yours only)")).not_to_have_value("off")


async def test_the_player_controls_work_by_keyboard_and_the_phone_layout_keeps_the_video_in_view(
    web: LiveServer,
) -> None:
    """Issue 20: volume and mute (remembered in the browser), ±10 s and the keys (←/→, F, M, C), theatre mode
    with the chat over the video and hideable, fullscreen, "resync me"; every control reachable by keyboard and a
    40×40 px target at least; at 390×844 the video stays at the top while the page scrolls, and on its side it
    fills the screen with the chat over it. axe-core finds no serious or critical problem on the room page."""
    async with chromium() as browser:
        # the 30 s sample: +10 s from the start stays inside it (a 10 s clip would end there, and pause the room)
        host, guest = await _room_with_two(browser, web, "ursula", "vik")
        await host.set_viewport_size({"width": 1280, "height": 800})
        await host.get_by_role("button", name="Play", exact=True).click()
        await both_playing(host, guest)

        # every control is a 40 × 40 target, and focusable
        sizes = await host.evaluate(
            """() => [...document.querySelectorAll('.controls button, .controls select, .controls input')]
                 .filter((el) => el.offsetParent !== null)
                 .map((el) => ({ id: el.id, w: el.getBoundingClientRect().width, h: el.getBoundingClientRect().height,
                                 tab: el.tabIndex }))"""
        )
        assert len(sizes) >= 10, sizes
        assert all(s["w"] >= 40 and s["h"] >= 40 and s["tab"] >= 0 for s in sizes), sizes

        # ± 10 s for the room, by button and by key; the other page follows
        before = (await video_state(guest))["t"]
        await host.get_by_role("button", name="+10: ahead 10 seconds (→)").click()
        await guest.wait_for_function("(t) => document.querySelector('video').currentTime > t + 8", arg=before)
        await host.locator("body").click(position={"x": 5, "y": 5})  # the focus off any control
        await host.keyboard.press("ArrowLeft")
        await guest.wait_for_function("(t) => document.querySelector('video').currentTime < t + 5", arg=before + 10)
        await in_sync(host, guest)

        # mute by M, volume by the slider: remembered after a reload
        await host.keyboard.press("m")
        assert (await video_state(host))["muted"]
        await host.keyboard.press("m")
        await host.get_by_label("Volume (yours only)").fill("0.4")
        await host.reload()
        await expect(host.locator("#connection")).to_have_text("live")
        assert await host.evaluate("document.querySelector('video').volume") == pytest.approx(0.4)
        assert not await guest.evaluate("document.querySelector('video').muted")  # the guest's own volume
        await in_sync(host, guest)

        # theatre: the chat over the video, hidden and shown again
        await host.get_by_role("button", name="Theatre").click()
        await expect(host.locator(".room")).to_have_class(re.compile("theatre"))
        await expect(host.locator(".side")).to_be_visible()
        await shot(host, "room-theatre")
        await host.get_by_role("button", name="Chat").click()
        await expect(host.locator(".side")).to_be_hidden()
        await host.get_by_role("button", name="Chat").click()
        await host.get_by_role("button", name="Theatre").click()

        # fullscreen by F (the whole room, so that the chat can stay over it)
        await host.locator("body").click(position={"x": 5, "y": 5})
        await host.keyboard.press("f")
        await host.wait_for_function("() => document.fullscreenElement?.classList.contains('room')", timeout=5_000)
        await host.keyboard.press("f")
        await host.wait_for_function("() => !document.fullscreenElement", timeout=5_000)

        # resync me: a viewer knocked 5 s off (locally) is back with the room at once
        await guest.evaluate("() => { const v = document.querySelector('video'); v.currentTime += 5; }")
        await guest.get_by_role("button", name="Resync me").click()
        await in_sync(host, guest, within_s=3)

        assert await serious_axe_violations(host) == []

        # a phone upright: the video stays in view at the top while the page scrolls under it
        await guest.set_viewport_size({"width": 390, "height": 844})
        await guest.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        await guest.wait_for_timeout(300)
        box = await guest.locator(".video-wrap").bounding_box()
        assert box is not None and -1 <= box["y"] <= 1 and box["height"] > 150, box
        overflow = await guest.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        await shot(guest, "room-phone-portrait")
        # on its side: the video fills the screen, with the chat over it
        await guest.set_viewport_size({"width": 844, "height": 390})
        await guest.evaluate("() => window.scrollTo(0, 0)")
        box = await guest.locator(".video-wrap").bounding_box()
        assert box is not None and box["height"] >= 380, box
        side = await guest.locator(".side").bounding_box()
        assert side is not None and side["y"] < box["y"] + box["height"], "the chat is over the video"
        await shot(guest, "room-phone-landscape")
        assert await serious_axe_violations(guest) == []


YOUTUBE_SPREAD_P95_MS = 300  # issue 21's bound for YouTube, whose player has only fixed rates


async def player_positions_at(page: Page, instants: list[float]) -> list[dict[str, float]]:
    """As positions_at, through the page's player contract (a YouTube player is no <video>)."""
    result: list[dict[str, float]] = await page.evaluate(
        """async (instants) => {
            const p = window.watchparty.player, out = [];
            const now = () => performance.timeOrigin + performance.now();
            for (const t of instants) {
                await new Promise((r) => setTimeout(r, Math.max(0, t - now())));
                out.push({ at: now(), t: p.position(), rate: window.watchparty.link.playback.rate,
                           paused: !p.playing });
            }
            return out;
        }""",
        instants,
    )
    return result


async def test_a_youtube_video_plays_in_sync_through_the_iframe_api_and_a_refused_one_says_why(web: LiveServer) -> None:
    """Issue 21, YouTube: a YouTube URL is recognised (no fetch: the media check calls it YouTube), plays in a
    same-origin frame whose CSP alone lets YouTube's API in, and two viewers agree within 300 ms at p95 after play
    and a seek, corrected by seeking only (fixed rates). The API here is a local stand-in of the documented
    YT.Player (no internet in CI). A video whose owner forbids embedding says so in words."""
    async with chromium() as browser:
        url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5"
        host, guest = await _room_with_two(browser, web, "wanda", "xena", video_url=url)
        for page in (host, guest):
            await page.wait_for_function("() => window.watchparty.player.kind === 'youtube'", timeout=15_000)
            await expect(page.frame_locator("iframe.yt-frame").locator("#standin")).to_be_visible(timeout=15_000)
        assert await host.evaluate("() => window.watchparty.player.rates.continuous") is False
        frame = await host.request.get("/app/youtube-frame")
        csp = frame.headers["content-security-policy"]
        assert "https://www.youtube.com" in csp and "frame-ancestors 'self'" in csp
        assert "youtube" not in (await host.request.get("/")).headers["content-security-policy"]  # only that page

        spreads: dict[str, list[float]] = {}
        await host.get_by_role("button", name="Play", exact=True).click()
        await host.wait_for_function("() => window.watchparty.player.position() > 5.5", timeout=10_000)
        await guest.wait_for_function("() => window.watchparty.player.position() > 5.5", timeout=10_000)
        spreads["play"] = await skews_at_shared_instants(
            host, guest, start_in_s=2.0, seconds=4, read=player_positions_at
        )
        await host.evaluate("() => window.watchparty.link.command('seek', { position: 60 })")
        await guest.wait_for_function("() => window.watchparty.player.position() >= 60", timeout=10_000)
        spreads["seek"] = await skews_at_shared_instants(
            host, guest, start_in_s=2.5, seconds=4, read=player_positions_at
        )
        for name, values in spreads.items():
            assert p95(values) <= YOUTUBE_SPREAD_P95_MS, f"after {name}: {[round(v) for v in values]} ms"
        print({name: round(p95(values), 1) for name, values in spreads.items()})  # the closing note's figures
        await shot(guest, "room-youtube")

        # a video whose owner does not allow embedding: the viewer is told why
        token = await host.evaluate("JSON.parse(localStorage.getItem('watchparty.session')).token")
        r = await host.request.post("/api/movies", data={"title": "No embedding", "videoUrl": "https://youtu.be/noembedding"},
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status == 201, await r.text()
        movie_id = (await r.json())["data"]["id"]
        room_id = await host.evaluate("window.watchparty.link.roomId")
        r = await host.request.put(f"/api/rooms/{room_id}", data={"movieId": movie_id},
                                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert r.status == 200, await r.text()
        await expect(guest.locator("#toast")).to_contain_text(
            "does not allow it to be played on other sites",
            # the guest waits for the new movie's check (up to 15 s), then cues it in the frame: on a busy machine,
            # a while
            timeout=45_000,
        )


async def test_everyone_plays_their_own_copy_of_a_local_file_and_a_different_one_is_refused(
    web: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 21, local-file mode: the host picks a file on their disk (it never leaves the machine: the room learns
    its name, size, length and fingerprint); the guest picks their copy, it matches, and the two play in sync
    within 100 ms at p95; a different film is refused with the reason, and the guest stays in the room."""
    root = tmp_path_factory.mktemp("disk")
    film = make_clip(root, seconds=20, name="film.mp4")
    other = make_clip(root, seconds=8, name="other.mp4")
    async with chromium() as browser:
        ctx_h = await browser.new_context(base_url=web.url)
        ctx_g = await browser.new_context(base_url=web.url)
        host, guest = await ctx_h.new_page(), await ctx_g.new_page()
        sent: list[int] = []  # the size of every request body the host's page sends
        host.on("request", lambda request: sent.append(len(request.post_data_buffer or b"")))
        await host.goto("/signup")
        await sign_up(host, "yara")
        await host.goto("/rooms/new")
        await host.get_by_label("Name").fill("Yara's film night")
        await host.get_by_label("Movie").select_option("local")
        await host.get_by_label("Your video file").set_input_files(str(film))
        await host.get_by_role("button", name="Create the room").click()
        await expect(host).to_have_url(re.compile(r"/rooms/\d+$"), timeout=15_000)
        await expect(host.locator("#movie-title")).to_contain_text("everyone plays their own copy")
        # the file never left the host's machine: no request carried it (only the small JSON of its facts)
        assert max(sent) < 10_000 < film.stat().st_size, sent
        movie = (await (await host.request.get("/api/movies?limit=1")).json())["data"][0]
        assert movie["check"]["kind"] == "local" and movie["check"]["localFile"]["size"] == film.stat().st_size
        assert movie["durationSeconds"] == 20

        room_path = host.url.removeprefix(web.url)
        await guest.goto(f"/signup?next={room_path}")
        await sign_up(guest, "zeno")
        await guest.get_by_role("button", name="Join the room").click()
        await expect(guest.locator("#local-label")).to_contain_text("Pick your copy of film.mp4")
        await guest.get_by_label("Your copy of the film").set_input_files(str(other))
        await expect(guest.locator("#local-why")).to_contain_text("not the same film")
        await expect(guest.locator("#my-sync")).to_have_text("no copy picked")  # not "in sync": nothing plays
        await expect(guest.locator("#chat-input, [name=content]").first).to_be_visible()  # still in the room, with chat
        await shot(guest, "room-local-refused")
        await guest.get_by_label("Your copy of the film").set_input_files(str(film))
        await expect(guest.locator(".local-card")).to_be_hidden(timeout=10_000)  # the same file: it plays

        await host.get_by_role("button", name="Play", exact=True).click()
        await both_playing(host, guest)
        skews = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
        assert p95(skews) <= HLS_SKEW_P95_MS, [round(s) for s in skews]
        print({"local file skew p95 ms": round(p95(skews), 1)})
        assert await guest.evaluate("document.querySelector('video').src.startsWith('blob:')")  # from their own disk


async def test_an_uploaded_file_is_sent_in_chunks_through_a_dropped_one_and_two_viewers_play_its_hls_in_sync(
    web: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 21, upload: the host picks a video file; the page sends it in 256 KiB chunks with a progress bar,
    gets over a chunk whose connection drops (it asks the server where it stands and goes on), and the room opens
    once the server's HLS has its first segments; two viewers play it in sync within 100 ms at p95."""
    film = make_clip(tmp_path_factory.mktemp("up"), seconds=60, name="holiday.mp4")
    assert film.stat().st_size > 4 * 256 * 1024
    async with chromium() as browser:
        ctx_h = await browser.new_context(base_url=web.url)
        host = await ctx_h.new_page()
        chunks: list[str] = []
        dropped: list[str] = []

        async def drop_the_third(route: Any) -> None:
            chunks.append(route.request.url)
            if len(chunks) == 3 and not dropped:
                dropped.append(route.request.url)
                await route.abort("connectionreset")
            else:
                await route.continue_()

        await host.route(re.compile(r"/api/uploads/\d+\?offset="), drop_the_third)
        progress: list[float] = []
        await host.goto("/signup")
        await sign_up(host, "anya")
        await host.goto("/rooms/new")
        await host.get_by_label("Name").fill("Anya's holiday film")
        await host.get_by_label("Movie").select_option("upload")
        await host.get_by_label("File to upload").set_input_files(str(film))
        await host.get_by_role("button", name="Create the room").click()
        while "/rooms/new" in host.url and len(progress) < 200:  # the bar moves while the file goes up
            try:
                progress.append(float(await host.locator("#upload-progress").get_attribute("value", timeout=500) or 0))
            except Exception:
                break
            await asyncio.sleep(0.05)
        await expect(host).to_have_url(re.compile(r"/rooms/\d+$"), timeout=60_000)
        assert dropped, "a chunk's connection was dropped"
        offsets = [int(u.rsplit("=", 1)[1]) for u in chunks]
        assert offsets == sorted(offsets) and offsets.count(int(dropped[0].rsplit("=", 1)[1])) == 2, offsets
        assert len(set(offsets)) == -(-film.stat().st_size // (256 * 1024)), "every chunk once, the dropped one twice"
        assert any(0 < p < 1 for p in progress), progress
        mine = (await (await host.request.get("/api/uploads", headers=await _bearer(host))).json())["data"][0]
        assert mine["received"] == film.stat().st_size and mine["movieId"] is not None
        await expect(host.locator("#movie-title")).to_contain_text("holiday")

        ctx_g = await browser.new_context(base_url=web.url)
        guest = await ctx_g.new_page()
        # The guest sees the playlists as they are while the transcode runs: two segments (8 s), no ENDLIST,
        # until `grown`; hls.js must play that, reload it, and follow it as it grows
        grown: list[bool] = []

        async def as_while_transcoding(route: Any) -> None:
            response = await route.fetch()
            text = await response.text()
            if not grown:
                lines, kept, segments = text.splitlines(), [], 0
                for line in lines:
                    if line.startswith("#EXT-X-ENDLIST") or segments >= 2:
                        break
                    kept.append(line)
                    segments += not line.startswith("#") and bool(line)
                text = "\n".join(kept) + "\n"
            await route.fulfill(response=response, body=text)

        await guest.route(re.compile(r"/media/hls/.+/v\d+/index\.m3u8"), as_while_transcoding)
        await guest.goto(f"/signup?next={host.url.removeprefix(web.url)}")
        await sign_up(guest, "boris")
        await guest.get_by_role("button", name="Join the room").click()
        await expect(guest.locator("#connection")).to_have_text("live")
        for page in (host, guest):  # hls.js plays it, with both renditions to choose from
            await expect(page.locator("#quality option")).to_have_count(3, timeout=15_000)
        await host.get_by_role("button", name="Play", exact=True).click()
        await both_playing(host, guest)
        skews = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
        assert p95(skews) <= HLS_SKEW_P95_MS, [round(s) for s in skews]
        grown.append(True)  # the transcode "goes on": the guest's player follows the playlist past its first 8 s
        await guest.wait_for_function("() => document.querySelector('video').currentTime >= 12", timeout=30_000)
        await host.evaluate("() => window.watchparty.link.command('seek', { position: 30 })")
        await guest.wait_for_function("() => document.querySelector('video').currentTime >= 30", timeout=10_000)
        after_seek = await skews_at_shared_instants(host, guest, start_in_s=1.5, seconds=3)
        assert p95(after_seek) <= HLS_SKEW_P95_MS, [round(s) for s in after_seek]
        print({"upload hls skew p95 ms": round(p95(skews), 1), "after seek": round(p95(after_seek), 1)})
        await shot(guest, "room-uploaded")

        # in the room: the host uploads another video under Host settings, and the room switches to it for both
        await host.route(re.compile(r"/api/uploads/\d+\?offset="), lambda route: route.continue_())
        second = make_clip(film.parent, seconds=12, name="encore.mp4")
        await host.get_by_text("Host settings").click()
        await host.get_by_label("Or upload a video for the room").set_input_files(str(second))
        for page in (host, guest):
            await expect(page.locator("#movie-title")).to_contain_text("encore", timeout=60_000)
        await expect(host.locator("#room-upload-note")).to_contain_text("Ready")


async def _bearer(page: Page) -> dict[str, str]:
    token = await page.evaluate("() => JSON.parse(localStorage.getItem('watchparty.session')).token")
    return {"Authorization": f"Bearer {token}"}


async def test_the_front_page_says_what_this_is_and_lists_your_rooms_and_the_small_defects_are_fixed(
    web: LiveServer,
) -> None:
    """Issue 17, items 1 and 5: the front page (one line, one way to start, your rooms), the tab title, a full
    room's Join disabled, the host leaving without an error, an unknown path's page, and the navigation after the
    server ended the session."""
    async with chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 820}, base_url=web.url, locale="en-US")
        page = await ctx.new_page()
        await page.goto("/")
        await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Watch videos together"))
        await expect(page).to_have_title("WatchParty")
        start = page.get_by_role("link", name="Start a watch party")
        await expect(start).to_have_attribute("href", "/signup?next=%2Frooms%2Fnew")
        await start.click()
        await sign_up(page, "piet")
        await expect(page).to_have_url(re.compile(r"/rooms/new$"))  # straight on to what they came for
        await expect(page).to_have_title("New room · WatchParty")
        await page.get_by_label("Name").fill("Piet's party")
        await page.get_by_role("button", name="Create the room").click()
        await expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
        await expect(page).to_have_title("Piet's party · WatchParty")
        room_id = int(page.url.rsplit("/", 1)[1])
        token = await page.evaluate("() => JSON.parse(localStorage.getItem('watchparty.session')).token")

        # your rooms, on the front page: hosted, joined, recent
        async with httpx.AsyncClient(base_url=web.url) as http:
            other = await http.post(
                "/api/auth/register", json={"email": "quinn@example.com", "username": "quinn", "password": PASSWORD}
            )
            other_auth = {"Authorization": f"Bearer {other.json()['data']['token']}"}
            theirs = await http.post("/api/rooms", json={"name": "Quinn's cinema", "capacity": 2}, headers=other_auth)
            await http.post(
                f"/api/rooms/{theirs.json()['data']['id']}/join", headers={"Authorization": f"Bearer {token}"}
            )
            full = await http.post("/api/rooms", json={"name": "Tiny room", "capacity": 2}, headers=other_auth)
            third = await http.post(
                "/api/auth/register", json={"email": "ruth@example.com", "username": "ruth", "password": PASSWORD}
            )
            await http.post(
                f"/api/rooms/{full.json()['data']['id']}/join",
                headers={"Authorization": f"Bearer {third.json()['data']['token']}"},
            )
        await page.goto("/")
        mine = page.locator("#your-rooms")
        await expect(mine.locator(".room-card")).to_have_count(2)
        await expect(mine.locator(".room-card").first).to_contain_text("Quinn's cinema")
        await mine.get_by_role("button", name="You host").click()
        await expect(mine.locator(".room-card")).to_have_count(1)
        await expect(mine.locator(".room-card")).to_contain_text("Piet's party")
        await expect(mine.locator(".badge.role")).to_have_text("host")
        await mine.get_by_role("button", name="You joined").click()
        await expect(mine.locator(".room-card")).to_have_text(re.compile("Quinn's cinema"))
        await shot(page, "front-page")

        # a full room offers no Join that cannot work, and says why
        await page.goto(f"/rooms/{full.json()['data']['id']}")
        await expect(page.locator("#room-full")).to_have_text(re.compile("This room is full"))
        await expect(page.get_by_role("button", name="Join the room")).to_be_disabled()

        # a private room offers no link to copy: it would admit nobody
        async with httpx.AsyncClient(base_url=web.url) as http:
            secret = await http.post(
                "/api/rooms", json={"name": "Piet's secret", "visibility": "private"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
        await page.goto(f"/rooms/{secret.json()['data']['id']}")
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#copy-link")).to_have_count(0)
        await expect(page.get_by_text("only emailed invites let people in")).to_be_visible()

        # the host leaves on purpose: a plain confirmation, never an error
        await page.goto(f"/rooms/{room_id}")
        await expect(page.locator("#connection")).to_have_text("live")
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.locator("#leave").click()
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.locator("#toast")).to_have_text("You left the room.")
        await expect(page.locator("#toast")).not_to_have_class(re.compile("error"))

        # an unknown address is a page of the client, with status 404, not raw JSON
        response = await page.goto("/no/such/page")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        await expect(page.get_by_role("link", name="Back to the front page")).to_be_visible()
        await expect(page).to_have_title("Page not found · WatchParty")

        # signed out everywhere from elsewhere: the next request here finds it, and the navigation says so
        async with httpx.AsyncClient(base_url=web.url) as http:
            fresh = await http.post("/api/auth/login", json={"email": "piet@example.com", "password": PASSWORD})
            await http.post(
                "/api/auth/logout-all", headers={"Authorization": f"Bearer {fresh.json()['data']['token']}"}
            )
        await page.goto("/profile")  # drawn signed in; its request, with the revoked token, finds the session over
        nav = page.locator("#nav")
        await expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
        await expect(nav.get_by_role("button", name="Sign out")).to_have_count(0)
        await expect(page).to_have_url(re.compile(r"/signin\?next=%2Fprofile$"))
        await expect(page.locator("#toast")).to_contain_text("Your session ended")


async def test_the_client_speaks_russian_when_the_browser_does_and_remembers_a_choice(
    web: LiveServer, smtp_server: Mailbox
) -> None:
    """Issue 17, item 7: the language from the browser, switchable, remembered; one page with its screenshot."""
    async with chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 820}, base_url=web.url, locale="ru-RU")
        page = await ctx.new_page()
        await page.goto("/")
        await expect(page.locator("html")).to_have_attribute("lang", "ru")
        await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Смотрите видео вместе"))
        await expect(page.get_by_role("link", name="Начать совместный просмотр")).to_be_visible()
        await expect(page.get_by_role("heading", name="Открытые комнаты")).to_be_visible()
        await shot(page, "front-page-ru")
        await page.goto("/signup")
        await page.get_by_label("Электронная почта").fill("")
        await page.get_by_role("button", name="Зарегистрироваться").click()
        await expect(page.locator("#f-email-error")).to_have_text("Введите адрес электронной почты.")
        await expect(page.locator("#f-username-error")).to_have_text("Придумайте имя пользователя.")
        await page.get_by_label("Пароль").fill("1234")
        await expect(page.locator("#f-password-hint")).to_have_text("Нужно ещё 4 символа.")
        await shot(page, "signup-ru")
        # signed up in Russian: the welcome email is Russian, and so is the room page
        await page.get_by_label("Электронная почта").fill("vera@example.com")
        await page.get_by_label("Имя пользователя").fill("vera")
        await page.get_by_label("Пароль").fill(PASSWORD)
        await page.get_by_role("button", name="Зарегистрироваться").click()
        await expect(page.locator("#toast")).to_have_text("Добро пожаловать, vera!")
        welcome = await smtp_server.one_to("vera@example.com")
        assert welcome["Subject"] == "Добро пожаловать в WatchParty"
        await page.goto("/rooms/new")
        await page.get_by_label("Название", exact=True).fill("Кино у Веры")
        await page.get_by_role("button", name="Создать комнату").click()
        await expect(page.locator("#connection")).to_have_text("на связи")
        await expect(page.get_by_role("button", name="Выйти из комнаты")).to_be_visible()
        await expect(page.get_by_role("heading", name="Далее")).to_be_visible()
        await expect(page.get_by_label("Написать сообщение")).to_be_visible()
        await expect(page).to_have_title("Кино у Веры · WatchParty")
        await shot(page, "room-ru")
        # switched to English: at once, and still after a reload
        await page.get_by_label("Язык", exact=True).select_option("en")
        await expect(page.get_by_role("button", name="Leave this room")).to_be_visible()
        # the emails follow the choice: the profile says English
        await page.wait_for_function(
            "() => JSON.parse(localStorage.getItem('watchparty.session')).user.language === 'en'"
        )
        await page.reload()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("button", name="Leave this room")).to_be_visible()


PAGES_SIGNED_OUT = ["/", "/signin", "/signup", "/forgot-password", "/reset-password?token=x", "/no-such-page"]


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_axe_finds_no_serious_problem_on_any_page_in_either_theme(
    web: LiveServer, scheme: Literal["dark", "light"]
) -> None:
    """Issue 17, item 6: every page of the client, in both themes (the system's colour scheme), WCAG AA."""
    name = {"dark": "sven", "light": "tara"}[scheme]
    async with chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 820}, base_url=web.url, color_scheme=scheme)
        page = await ctx.new_page()
        found: dict[str, list[str]] = {}
        for path in PAGES_SIGNED_OUT:
            await page.goto(path)
            await expect(page.locator("#view h1")).to_be_visible()
            found[path] = await serious_axe_violations(page)
        await page.goto("/signup")
        await sign_up(page, name)
        await page.goto("/rooms/new")
        await page.get_by_label("Name").fill(f"{name}'s room")
        await page.get_by_role("button", name="Create the room").click()
        await expect(page.locator("#connection")).to_have_text("live")
        room = page.url.removeprefix(web.url)
        async with httpx.AsyncClient(base_url=web.url) as http:  # a member who is not here: a dimmed row
            body = {"email": f"{name}2@example.com", "username": f"{name}2", "password": PASSWORD}
            other = (await http.post("/api/auth/register", json=body)).json()["data"]["token"]
            await http.post(f"/api/rooms/{room.rsplit('/', 1)[1]}/join", headers={"Authorization": f"Bearer {other}"})
        await page.reload()
        await expect(page.locator("#people li.offline")).to_have_count(1)
        found[room] = await serious_axe_violations(page)
        for path in ["/", "/rooms/new", "/profile", f"/invite/not-a-real-token?room={room.rsplit('/', 1)[1]}"]:
            await page.goto(path)
            await expect(page.locator("#view h1")).to_be_visible()
            await page.wait_for_load_state("networkidle")
            found[path] = await serious_axe_violations(page)
        assert {path: v for path, v in found.items() if v} == {}


async def test_while_the_socket_reconnects_the_controls_say_so_and_it_is_back_at_once_when_the_network_is(
    web: LiveServer,
) -> None:
    """Issue 17, item 4: controls disabled with "Reconnecting…" while the socket is down; reconnects back off with
    jitter to at most 5 s, and try at once when the network returns; quick seeks in a row go as one command."""
    async with chromium() as browser:
        page = await (await browser.new_context(base_url=web.url, locale="en-US")).new_page()
        sockets: list[Any] = []

        async def through(ws: Any) -> None:  # every room socket passes through here, to the real server
            ws.connect_to_server()
            sockets.append(ws)

        await page.route_web_socket(re.compile(r"/ws\?ticket="), through)
        sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
        await page.goto("/signup")
        await sign_up(page, "umar")
        await page.goto("/rooms/new")
        await page.get_by_label("Name").fill("Umar's room")
        await page.get_by_role("button", name="Create the room").click()
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#play")).to_be_enabled()

        # the backoff: doubling from 0.5 s, half of it random, never over 5 s
        bounds = await page.evaluate(
            """async () => { const m = await import('/app/js/sync.js');
            const at = (r, x) => m.reconnectDelayMs(r, () => x);
            return [0, 1, 2, 3, 4, 8, 30].map((r) => [at(r, 0), at(r, 1)]); }"""
        )
        assert bounds == [[250, 500], [500, 1000], [1000, 2000], [2000, 4000], [2500, 5000], [2500, 5000], [2500, 5000]]

        # quick seeks in a row from one person: one command, never refused as stale
        await page.locator("#scrub").fill("2")
        await expect(page.locator("#time")).to_contain_text("0:02")

        def seeks() -> list[str]:
            return [frame for frame in sent if '"seek"' in frame]

        before = len(seeks())
        await page.locator("#room-title").focus()  # the page's keys: → is +10 s for the room
        for _ in range(2):
            await page.keyboard.press("ArrowRight")
        await expect(page.locator("#time")).to_contain_text("0:22", timeout=5_000)
        assert len(seeks()) - before == 1, seeks()[before:]
        await page.locator("#scrub").focus()  # the slider's own arrows: a change each
        for _ in range(3):
            await page.keyboard.press("ArrowLeft")
        await expect(page.locator("#time")).to_contain_text("0:21", timeout=5_000)
        await page.wait_for_function("() => document.querySelector('#connection').textContent === 'live'")
        deadline = time.monotonic() + 5
        while len(seeks()) - before < 2 and time.monotonic() < deadline:
            await page.wait_for_timeout(50)
        await page.wait_for_timeout(1000)  # and no more after the merge window: one command for the three
        assert len(seeks()) - before == 2, seeks()[before:]
        assert '"position":21.7' in seeks()[-1], seeks()[-1]
        await expect(page.locator("#toast")).not_to_contain_text("just before you")

        # the network goes: tickets fail, the socket closes; the controls are off and say why
        attempts: list[float] = []
        fail_tickets = True

        async def tickets(route: Any) -> None:
            attempts.append(time.monotonic())
            if fail_tickets:
                await route.abort("internetdisconnected")
            else:
                await route.continue_()

        await page.route(re.compile(r"/ws-ticket$"), tickets)
        await sockets[-1].close(code=1011)
        await expect(page.locator("#connection")).to_have_text("Reconnecting…")
        await expect(page.locator("#play")).to_be_disabled()
        await expect(page.locator("#play")).to_have_attribute("title", "Reconnecting…")
        await expect(page.locator("#control-note")).to_contain_text("Reconnecting…")
        # after five failed tries the next waits at least 2.5 s; the network's return does not wait for it
        deadline = time.monotonic() + 30
        while len(attempts) < 5:
            assert time.monotonic() < deadline, attempts
            await page.wait_for_timeout(50)
        waits = [b - a for a, b in itertools.pairwise(attempts)]
        assert all(w <= 5.5 for w in waits), waits
        fail_tickets = False
        tried = len(attempts)
        await page.evaluate("() => window.dispatchEvent(new Event('online'))")
        woke = time.monotonic()
        await expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
        assert len(attempts) > tried and attempts[tried] - woke < 2.0, "tried again at once, not after the backoff"
        await expect(page.locator("#play")).to_be_enabled()
