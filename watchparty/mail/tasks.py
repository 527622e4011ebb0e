"""The email job: render the template, deliver, and report where it went."""

from __future__ import annotations

import logging
from typing import Any

from watchparty.config import Settings
from watchparty.jobs.hooks import crash_point
from watchparty.mail import sender, templates

log = logging.getLogger("watchparty.mail")


async def send_email(settings: Settings, data: dict[str, Any], job_id: str) -> dict[str, Any]:
    email = templates.render(data["template"], data["to"], data["context"], data.get("language", "en"))
    message = sender.build_message(settings, email, data["messageId"], job_id)
    where = await sender.deliver(settings, message, job_id)
    # A crash here, after the server took the mail and before the queue hears of it, is the one case in
    # which a re-run sends a second copy; it carries the same Message-ID.
    crash_point(settings, "email.sent")
    log.info("email %s (%s) delivered to %s", job_id, data["template"], where)
    return {"messageId": data["messageId"], "template": data["template"], "deliveredTo": where}
