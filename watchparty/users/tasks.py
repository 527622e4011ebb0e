"""The avatar job: resize and re-encode off the event loop, point the user at the result, delete old files."""

from __future__ import annotations

import logging
from typing import Any

import anyio

from watchparty.core.deps import Services
from watchparty.jobs.hooks import crash_point
from watchparty.users import avatar, service

log = logging.getLogger("watchparty.users")


async def process_avatar(services: Services, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    settings = services.settings
    user_id, token, seq = int(data["userId"]), str(data["token"]), int(data["seq"])
    upload = service.upload_path(settings, token)
    files = service.avatar_files(settings, user_id, token)
    if upload.exists():
        raw = await anyio.to_thread.run_sync(upload.read_bytes)
        info = await anyio.to_thread.run_sync(avatar.inspect, raw, settings.avatar_max_pixels)
        async with services.decode_memory.reserve(avatar.decode_cost(info)):  # a bounded peak for any number
            outputs = await anyio.to_thread.run_sync(avatar.process, raw, settings.avatar_max_pixels)
        for name, content in outputs.items():
            await anyio.to_thread.run_sync(service.write_atomic, files[name], content)
    elif not all(path.exists() for path in files.values()):
        raise RuntimeError("the upload is gone and its outputs are incomplete")
    async with services.db.session() as session:
        applied, stale_token = await service.set_avatar(session, user_id, token, seq)
    if stale_token is not None:  # the previous avatar, or this one if a newer upload won
        for path in service.avatar_files(settings, user_id, stale_token).values():
            path.unlink(missing_ok=True)
    upload.unlink(missing_ok=True)
    # The kill test's crash point: every effect is done, the queue has not heard of it yet.
    crash_point(settings, "avatar.saved")
    urls = service.avatar_urls(user_id, token, seq) if applied else None
    return {"applied": applied, "avatarUrls": {k: urls[k] for k in service.AVATAR_KEYS} if urls else None}
