"""Email bodies: Jinja2 templates (HTML with autoescape, and plain text). Pure: data in, Email out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


SUBJECTS: Final = {
    "welcome": "Welcome to WatchParty",
    "password_reset": "Reset your WatchParty password",
    "room_invite": "{inviter} invited you to watch together",
}

_env = Environment(
    loader=PackageLoader("watchparty.mail", "jinja"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(template: str, to: str, context: Mapping[str, Any]) -> Email:
    if template not in SUBJECTS:
        raise ValueError(f"unknown email template {template!r}")
    subject = SUBJECTS[template].format(**context)
    html = _env.get_template(f"{template}.html").render(subject=subject, **context)
    text = _env.get_template(f"{template}.txt").render(**context)
    return Email(to=to, subject=subject, text=text, html=html)


def welcome(username: str, base_url: str) -> tuple[str, dict[str, Any]]:
    return "welcome", {"username": username, "base_url": base_url}


def password_reset(username: str, link: str, minutes: int) -> tuple[str, dict[str, Any]]:
    return "password_reset", {"username": username, "link": link, "minutes": minutes}


def room_invite(inviter: str, room_name: str, link: str, days: int) -> tuple[str, dict[str, Any]]:
    return "room_invite", {"inviter": inviter, "room_name": room_name, "link": link, "days": days}
