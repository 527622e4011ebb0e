"""Kill tests: a real `watchparty worker` process is SIGKILLed inside a job (after its side effect, before
the queue hears of it), inside the relay (after the commit, before the enqueue), or in the middle of a transcode;
another worker finishes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from tests.conftest import fresh_database, make_settings, smtp_settings
from tests.e2e.conftest import start_worker, stop_server, wait_completed, worker_env
from tests.images import png
from tests.media import make_clip
from tests.own_redis import OwnRedis
from tests.smtp import Mailbox
from watchparty.config import Settings
from watchparty.core.db import Database
from watchparty.mail import service as mail_service
from watchparty.mail import templates
from watchparty.models import MediaUpload, User
from watchparty.movies import uploads
from watchparty.movies.schemas import UploadCreate
from watchparty.users import service as users_service

pytestmark = pytest.mark.slow


@pytest.fixture
async def kill_settings(settings: Settings, tmp_path: Path, mailbox: Mailbox) -> AsyncIterator[Settings]:
    async with fresh_database(tmp_path) as url:
        yield make_settings(
            url,
            tmp_path,
            key_prefix=f"{settings.key_prefix}-kill",
            job_lock_ms=1000,  # short locks: a dead worker's job is taken over within about two seconds
            job_stalled_interval_ms=1000,
            debug_crash_file=tmp_path / "crash-point",
            **smtp_settings(mailbox),
        )


async def queue_welcome(s: Settings, to: str) -> str:
    db = Database(s)
    try:
        async with db.session() as session:
            return await mail_service.send(session, s, to, templates.welcome("kim", "http://watchparty.test"))
    finally:
        await db.dispose()


def wait_killed(proc: object, log: Path) -> None:
    import subprocess

    assert isinstance(proc, subprocess.Popen)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop_server(proc)
        raise AssertionError(f"the worker did not reach its crash point:\n{log.read_text()}") from None
    assert code == -9, f"exit {code}:\n{log.read_text()}"


async def crash_then_recover(s: Settings, tmp_path: Path, mailbox: Mailbox, point: str, to: str) -> tuple[str, int]:
    """Queue a welcome email, let a worker die at `point`, let a second worker finish the job.
    Returns the job id and how many copies had arrived when the first worker died."""
    assert s.debug_crash_file is not None
    s.debug_crash_file.write_text(point)
    job_id = await queue_welcome(s, to)
    first, first_log = start_worker(tmp_path, worker_env(s))
    await asyncio.to_thread(wait_killed, first, first_log)
    copies_at_crash = len(mailbox.to(to))
    second, _ = start_worker(tmp_path, worker_env(s))
    try:
        await wait_completed(s, job_id)
        await mailbox.one_to(to)
        await asyncio.sleep(0.5)  # room for a duplicate to show up, if there were one
    finally:
        stop_server(second)
    return job_id, copies_at_crash


async def test_worker_killed_after_smtp_accepted_the_mail(
    kill_settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    job_id, at_crash = await crash_then_recover(kill_settings, tmp_path, mailbox, "email.sent", "kim@example.com")
    assert at_crash == 1, "the server took the mail before the worker died"
    copies = mailbox.to("kim@example.com")
    assert len(copies) == 2, "a re-run after a crash past the SMTP handshake may send one more copy"
    assert len({m["Message-ID"] for m in copies}) == 1, "and every copy has the same Message-ID"
    assert {m["X-WatchParty-Job"] for m in copies} == {job_id}


async def test_worker_killed_between_commit_and_enqueue_loses_nothing(
    kill_settings: Settings, mailbox: Mailbox, tmp_path: Path
) -> None:
    _, at_crash = await crash_then_recover(kill_settings, tmp_path, mailbox, "relay.claimed", "lee@example.com")
    assert at_crash == 0
    assert len(mailbox.to("lee@example.com")) == 1


async def test_worker_killed_after_the_avatar_was_saved_applies_it_once(
    kill_settings: Settings, tmp_path: Path
) -> None:
    s = kill_settings
    assert s.debug_crash_file is not None
    s.debug_crash_file.write_text("avatar.saved")
    db = Database(s)
    try:
        async with db.session() as session:
            user = await users_service.create_user(session, email="ava@example.com", username="ava", password_hash="x")
            job_id = await users_service.accept_avatar(session, s, user, png(320, 240))

        first, first_log = start_worker(tmp_path, worker_env(s))
        await asyncio.to_thread(wait_killed, first, first_log)
        async with db.session() as session:
            after_crash = (await session.get(User, user.id)).avatar_urls  # type: ignore[union-attr]
        assert after_crash is not None, "the worker died after saving the avatar"

        second, _ = start_worker(tmp_path, worker_env(s))
        try:
            await wait_completed(s, job_id)
        finally:
            stop_server(second)
        async with db.session() as session:
            final = (await session.get(User, user.id)).avatar_urls  # type: ignore[union-attr]
    finally:
        await db.dispose()
    assert final == after_crash, "the re-run found its work done and changed nothing"
    files = sorted(p.name for p in (s.media_dir / "avatars").iterdir())
    assert files == sorted(Path(final[k]).name for k in users_service.AVATAR_KEYS)
    assert not list(s.upload_staging_dir.glob("*"))


def _listed(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


async def test_worker_killed_mid_transcode_starts_it_again_and_leaves_no_partial_output(
    kill_settings: Settings, tmp_path: Path
) -> None:
    """kill -9 while the HLS is being made (its first segments already offered): another worker takes the stalled
    job over, makes the whole output again from nothing, and what is served in the end is complete."""
    s = kill_settings
    clip = make_clip(tmp_path / "src", seconds=40, name="forty.mp4")
    data = clip.read_bytes()
    db = Database(s)
    try:
        async with db.session() as session:
            owner = await users_service.create_user(session, email="tom@example.com", username="tom", password_hash="x")
            upload = await uploads.start(session, s, owner, UploadCreate(title="Forty", filename=clip.name,
                                                                         size=len(data)))  # fmt: skip
            await uploads.put_chunk(session, s, owner, upload.id, 0, data)
        token = upload.token
        out = uploads.output_dir(s, token)

        first, first_log = start_worker(tmp_path, worker_env(s))
        try:
            async with asyncio.timeout(60):  # the first segments are out: the movie is offered
                while True:
                    async with db.session() as session:
                        row = await session.get(MediaUpload, upload.id)
                        assert row is not None and row.status == "processing", first_log.read_text()
                        if row.movie_id is not None:
                            break
                    await asyncio.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            stop_server(first)
        partial = _listed(out / "v0" / "index.m3u8")
        assert "#EXT-X-ENDLIST" not in (out / "v0" / "index.m3u8").read_text(), "killed before the end"
        movie_id = row.movie_id

        second, _ = start_worker(tmp_path, worker_env(s))
        try:
            async with asyncio.timeout(90):
                while True:
                    async with db.session() as session:
                        row = await session.get(MediaUpload, upload.id)
                        assert row is not None and row.status != "failed", row and row.error_message
                        if row.status == "ready":
                            break
                    await asyncio.sleep(0.1)
        finally:
            stop_server(second)
        assert row.movie_id == movie_id, "the re-run kept the movie it had offered"
        assert row.progress == 1 and row.output is not None
    finally:
        await db.dispose()
    for variant in ("v0", "v1"):
        playlist = out / variant / "index.m3u8"
        assert playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")
        listed = _listed(playlist)
        assert len(listed) == 10, listed  # 40 s in 4 s segments
        on_disk = sorted(p.name for p in (out / variant).iterdir() if p.name != "index.m3u8")
        assert on_disk == sorted(listed), "every segment listed exists, and nothing else (no .tmp, no leftovers)"
    assert len(partial) < 10
    assert not uploads.staged_path(s, token).exists()
    with av.open(str(out / "master.m3u8")) as hls:
        assert float(hls.duration or 0) / av.time_base == pytest.approx(40, abs=0.5)


async def test_an_idle_worker_stops_at_once_after_a_redis_restart(
    settings: Settings, tmp_path: Path, own_redis: OwnRedis
) -> None:
    """SIGTERM after Redis restarted (empty) under an idle worker: it stops within its 10 s grace, well within, and
    says nothing false on the way out (it used to wait the whole 10 s and warn of jobs it did not have)."""
    async with fresh_database(tmp_path) as url:
        s = make_settings(url, tmp_path, key_prefix=f"{settings.key_prefix}-restart", **own_redis.urls())
        proc, log = start_worker(tmp_path, worker_env(s))
        try:
            await asyncio.sleep(0.5)
            own_redis.kill()
            await asyncio.sleep(0.5)
            own_redis.start()
            await asyncio.sleep(2)  # the worker's blocking reads reconnected
            asked = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 30)
            took = time.monotonic() - asked
        finally:
            stop_server(proc)
    said = log.read_text()
    after_stop = said[said.index("worker stopping") :]
    assert code == 0, said
    assert took < 5, f"{took:.1f} s to stop:\n{said}"
    assert not [line for line in after_stop.splitlines() if " WARNING " in line or " ERROR " in line], after_stop
