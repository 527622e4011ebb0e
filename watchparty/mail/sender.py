"""Delivering one rendered email: over SMTP with aiosmtplib, or, with no SMTP configured, as an .eml file."""

from __future__ import annotations

import logging
import re
import socket
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

import aiosmtplib
import anyio

from watchparty.config import Settings
from watchparty.mail.templates import Email

log = logging.getLogger("watchparty.mail")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def sender_domain(settings: Settings) -> str:
    address = parseaddr(settings.email_from)[1]
    return address.rpartition("@")[2] or "watchparty.local"


def build_message(settings: Settings, email: Email, message_id: str, job_id: str) -> EmailMessage:
    message = EmailMessage()  # the default policy refuses CR/LF in headers
    message["From"] = settings.email_from
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message["X-WatchParty-Job"] = job_id
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


async def deliver(settings: Settings, message: EmailMessage, job_id: str) -> str:
    """Send the message; returns where it went. Raises on SMTP errors, so that the job is retried."""
    if not settings.smtp_host:
        path = await anyio.to_thread.run_sync(write_eml, settings.mail_outbox_dir, message, job_id)
        return f"file:{path.name}"
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_secure and settings.smtp_port == 465,
        start_tls=None if not settings.smtp_secure else settings.smtp_port != 465,
        username=settings.smtp_user,
        password=password,
        timeout=30,
        local_hostname=await _local_hostname(),
    )
    return f"smtp:{settings.smtp_host}"


_hostname: str | None = None


async def _local_hostname() -> str:
    """Our name in EHLO. aiosmtplib would call socket.getfqdn() for every message, on the event loop (8 ms here)."""
    global _hostname
    if _hostname is None:
        _hostname = await anyio.to_thread.run_sync(socket.getfqdn)
    return _hostname


def write_eml(outbox: Path, message: EmailMessage, job_id: str) -> Path:
    """One file per job: a re-run overwrites its own file rather than adding a copy."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{_SAFE_NAME.sub('_', job_id)}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(message))
    tmp.rename(path)  # readers never see half a file
    return path
