"""The media check job: probe the URL off the event loop (movies/probe.py), then store the verdict."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import anyio

from watchparty.core.deps import Services
from watchparty.core.validators import origin_of
from watchparty.movies import probe, service

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
