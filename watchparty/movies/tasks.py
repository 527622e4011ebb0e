"""The movie jobs: the media check (probe the URL off the event loop, movies/probe.py, then store the verdict), and
the transcode of an upload (movies/transcode.py)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NoReturn
from urllib.parse import urljoin

import anyio
from bullmq import UnrecoverableError

from watchparty.core.deps import Services
from watchparty.core.validators import origin_of
from watchparty.jobs.hooks import crash_point, report_progress, running_job
from watchparty.movies import probe, repository, service, transcode, uploads

log = logging.getLogger("watchparty.movies")


async def check_media(services: Services, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    settings = services.settings
    movie_id, url = int(data["movieId"]), str(data["url"])
    # The web client plays it from our public origin: that is the origin CORS must allow. A path of our own
    # (the sample clip) is checked at our own address, where no CORS is asked.
    ours = origin_of(settings.base_url)
    absolute = urljoin(settings.base_url + "/", url)
    origin = None if origin_of(absolute) == ours else ours
    verdict = await anyio.to_thread.run_sync(
        lambda: probe.check(
            absolute, origin=origin, allow_private=settings.media_check_allow_private,
            timeout_s=settings.media_check_timeout_s, own_origin=ours,
        )
    )  # fmt: skip
    async with services.db.session() as session:
        applied = await service.apply_verdict(session, movie_id, url, verdict.status, verdict.to_json())
    log.info("media check %s: movie %d %s (%s) in %.0f ms", job_id, movie_id, verdict.status, verdict.code,
             verdict.took_ms)  # fmt: skip
    return {"movieId": movie_id, "status": verdict.status, "code": verdict.code, "applied": applied}


async def transcode_upload(services: Services, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    """An upload made into HLS (ADR 0021). Idempotent: a finished upload is left alone, and a run cut short (a
    killed worker: bullmq hands the stalled job to another) starts the output again from nothing. A file that
    cannot be played fails the upload in words, once, without retries."""
    settings, db, job = services.settings, services.db, running_job.get()
    upload_id = int(data["uploadId"])
    async with db.session() as session:
        upload = await repository.get_upload(session, upload_id)
        if upload is None or upload.status != "processing":
            return {"uploadId": upload_id, "skipped": upload.status if upload else "gone"}
        token = upload.token
    staged, out = uploads.staged_path(settings, token), uploads.output_dir(settings, token)

    async def failed(code: str, message: str) -> NoReturn:
        async with db.session() as session:
            await uploads.fail(session, upload_id, code, message)
        await anyio.to_thread.run_sync(uploads.remove_files, settings, token)
        log.info("transcode %s: upload %d refused (%s): %s", job_id, upload_id, code, message)
        raise UnrecoverableError(f"{code}: {message}")

    try:
        info = await anyio.to_thread.run_sync(
            lambda: transcode.inspect(staged, max_duration_s=settings.upload_max_duration_s)
        )
    except transcode.Rejected as exc:
        await failed(exc.code, exc.message)
    async with db.session() as session:
        await uploads.set_source(session, upload_id, info.to_json())

    last = 0.0
    stopping = threading.Event()  # set when the job is cut short (the worker stops): the thread ends at once

    def on_progress(value: float) -> None:  # in the transcode's thread
        nonlocal last
        crash_point(settings, "transcode.progress")
        if stopping.is_set():
            raise _Gone()
        if time.monotonic() - last < 1:
            return
        last = time.monotonic()
        if not anyio.from_thread.run(progress, value):
            raise _Gone()

    async def progress(value: float) -> bool:
        await report_progress(job, value)
        async with db.session() as session:
            return await uploads.record_progress(session, upload_id, value)

    async def first_segments() -> None:
        async with db.session() as session:
            movie_id = await uploads.publish(session, upload_id, info.to_json())
        log.info("transcode %s: upload %d playable as movie %s", job_id, upload_id, movie_id)

    try:
        # abandon_on_cancel: a worker that stops does not wait minutes for the encoder; the thread sees `stopping`
        # at its next progress report and ends, and the job runs again from nothing on the next worker
        output = await anyio.to_thread.run_sync(
            lambda: transcode.transcode(
                staged, out, info, preset=settings.transcode_preset, on_progress=on_progress,
                on_first_segments=lambda: anyio.from_thread.run(first_segments),
            ),
            abandon_on_cancel=True,
        )  # fmt: skip
    except transcode.Rejected as exc:
        await failed(exc.code, exc.message)
    except _Gone:
        await anyio.to_thread.run_sync(uploads.remove_files, settings, token)
        return {"uploadId": upload_id, "skipped": "deleted while it was made"}
    except BaseException:  # cut short (the worker stops): tell the abandoned thread
        stopping.set()
        raise
    async with db.session() as session:
        if not await uploads.finish(session, upload_id, output):
            await anyio.to_thread.run_sync(uploads.remove_files, settings, token)
            return {"uploadId": upload_id, "skipped": "deleted while it was made"}
    staged.unlink(missing_ok=True)
    await report_progress(job, 1.0)
    log.info("transcode %s: upload %d ready in %.1f s", job_id, upload_id, output["seconds"])
    return {"uploadId": upload_id, "status": "ready", **output}


class _Gone(Exception):
    """The upload was deleted while it was being made."""
