"""A real SMTP server for the tests: aiosmtpd in a thread, keeping what it receives, able to refuse on demand."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Mailbox:
    """The handler: stores each accepted message; `refuse_next` makes the next N deliveries fail with 451."""

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(msg)
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refuse_next = 0
            self.refused = 0

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(
        self, predicate: Callable[[list[EmailMessage]], Any], timeout: float = 15.0
    ) -> list[EmailMessage]:
        """Wait until predicate(messages) holds; the messages it matched, or the assertion error on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise AssertionError(f"mail did not arrive in {timeout}s; have {[m['Subject'] for m in snapshot]}")
            await asyncio.sleep(0.02)

    async def one_to(self, address: str, subject_part: str = "", timeout: float = 15.0) -> EmailMessage:
        def match(msgs: list[EmailMessage]) -> list[EmailMessage]:
            return [m for m in msgs if m["To"] == address and subject_part in str(m["Subject"])]

        await self.wait_for(match, timeout)
        return match(self.messages)[-1]


def start_smtp() -> tuple[Controller, Mailbox]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the test server's own chatter
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    return controller, mailbox


def job_number(message: EmailMessage) -> int:
    """The outbox row behind a message, from its X-WatchParty-Job header ("email-o17.1a2b3c4d" -> 17)."""
    return int(str(message["X-WatchParty-Job"]).rsplit("-o", 1)[1].split(".")[0])
