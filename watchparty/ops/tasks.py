"""The cleanup and report jobs. One cleanup at a time (a Redis lock); caches of what it removed are invalidated."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from watchparty.chat import service as chat_service
from watchparty.core.clock import utcnow
from watchparty.core.deps import Services
from watchparty.movies import service as movies_service
from watchparty.movies import uploads as movie_uploads
from watchparty.ops import repository
from watchparty.rooms import flows as room_flows
from watchparty.users import service as users_service

log = logging.getLogger("watchparty.cleanup")

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


async def run_cleanup(services: Services, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    settings = services.settings
    days = int(data.get("daysInactive") or settings.cleanup_days_inactive)
    if services.redis is None:
        raise RuntimeError("cleanup needs Redis for its lock")
    lock = services.redis.lock(f"{settings.key_prefix}:lock:cleanup", timeout=600, blocking=True, blocking_timeout=0.2)
    if not await lock.acquire():
        log.info("cleanup %s skipped: another cleanup is running", job_id)
        return {"skipped": "another cleanup is running"}
    try:
        now = utcnow()
        async with services.db.session() as session:
            # through the rooms and chat code: caches are invalidated and live rooms closed as for any deletion
            rooms = await room_flows.remove_inactive_rooms(session, now - timedelta(days=days))
            message_rooms = await chat_service.remove_messages_before(
                session, now - timedelta(days=settings.cleanup_message_days)
            )
            member_rooms = await room_flows.remove_idle_members(
                session, now - timedelta(hours=settings.cleanup_participant_hours)
            )
            guests, _ = await users_service.remove_stale_guests(
                session, now - timedelta(days=settings.guest_retention_days)
            )
            outbox_rows = await repository.delete_sent_outbox_rows(session, now - timedelta(days=7))
            rechecks = await movies_service.recheck_stale(session, now - timedelta(minutes=10))
            uploads_removed = await movie_uploads.remove_unreferenced(
                session, settings, now - timedelta(hours=settings.upload_stale_hours)
            )
            result = {
                "daysInactive": days,
                "roomsRemoved": len(rooms),
                "roomsWithMessagesRemoved": len(message_rooms),
                "roomsWithParticipantsRemoved": len(member_rooms),
                "guestsRemoved": guests,
                "outboxRowsRemoved": outbox_rows,
                "mediaChecksSentAgain": rechecks,
                "uploadsRemoved": uploads_removed,
                "scheduled": bool(data.get("scheduled")),
            }
            report = await repository.add_report(session, "cleanup", now - timedelta(days=days), now, result)
            result["reportId"] = report.id
        stale_uploads = _remove_stale_uploads(services)
        result["staleUploadsRemoved"] = stale_uploads
        log.info("cleanup %s: %s", job_id, result)
        return result
    finally:
        try:
            await lock.release()
        except Exception as exc:  # it expires by itself
            log.warning("cleanup lock release failed: %s", exc)


async def run_report(services: Services, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    now = utcnow()
    async with services.db.session() as session:
        periods = {name: await repository.activity(session, now - span) for name, span in PERIODS.items()}
        body = {"periods": periods, "totals": await repository.totals(session)}
        report = await repository.add_report(session, "report", now - PERIODS["month"], now, body)
        return {"reportId": report.id, **body}


def _remove_stale_uploads(services: Services) -> int:
    """Uploads whose request never committed: staged files older than a day."""
    folder = services.settings.upload_staging_dir
    if not folder.exists():
        return 0
    cutoff = utcnow().timestamp() - 24 * 3600
    removed = 0
    for path in folder.glob("*.upload"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
