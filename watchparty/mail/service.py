"""Sending email after commit. Until the job queue lands, mail is written to the outbox folder as .eml."""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.config import Settings
from watchparty.core.db import after_commit
from watchparty.mail.templates import Email

log = logging.getLogger("watchparty.mail")


def send_after_commit(session: AsyncSession, settings: Settings, email: Email) -> None:
    """The seam the job queue replaces: queue one email, to go out only if the transaction commits."""

    async def deliver() -> None:
        await anyio.to_thread.run_sync(write_eml, settings.mail_outbox_dir, settings.email_from, email)
        log.info("email %r queued for delivery", email.subject)

    after_commit(session, deliver)


def write_eml(outbox: Path, sender: str, email: Email) -> Path:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="watchparty.local")
    message.set_content(email.text)
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(message))
    tmp.rename(path)  # readers never see half a file
    return path
