"""Queueing email. The job is written to the outbox in the caller's transaction, so it goes out only if that
commits, and it is never lost once it has."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.jobs import outbox
from watchparty.jobs.queues import EMAIL, NORMAL_PRIORITY
from watchparty.mail.sender import sender_domain


async def send(
    session: AsyncSession,
    settings: Settings,
    to: str,
    message: tuple[str, dict[str, Any]],
    *,
    priority: int = NORMAL_PRIORITY,
    owner_id: int | None = None,
    language: str = "en",
) -> str:
    """Queue one email (a template name and its context, from mail.templates) in the recipient's language;
    returns the job id."""
    template, context = message
    # One Message-ID per job, fixed here: a job re-run after a crash sends a copy the client recognises.
    message_id = f"<{uuid.uuid4().hex}@{sender_domain(settings)}>"
    data = {"template": template, "to": to, "context": context, "messageId": message_id, "ownerId": owner_id,
            "language": language}  # fmt: skip
    return await outbox.enqueue(session, EMAIL, template, data, priority=priority, owner_id=owner_id)
