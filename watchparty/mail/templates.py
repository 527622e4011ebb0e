"""Email bodies: Jinja2 templates (HTML with autoescape, and plain text). Pure: data in, Email out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


# The languages the web client speaks (web/static/app/locales); each has its own copy of every template under
# jinja/<language>/ (tests/unit/test_email_templates.py checks that none is missing).
LANGUAGES: Final = ("en", "ru")
DEFAULT_LANGUAGE: Final = "en"
SUBJECTS: Final = {
    "en": {
        "welcome": "Welcome to WatchParty",
        "password_reset": "Reset your WatchParty password",
        "room_invite": "{inviter} invited you to watch together",
    },
    "ru": {
        "welcome": "Добро пожаловать в WatchParty",
        "password_reset": "Сброс пароля WatchParty",
        "room_invite": "{inviter} приглашает вас посмотреть вместе",
    },
}

_shared = PackageLoader("watchparty.mail", "jinja/shared")
_envs = {
    language: Environment(
        loader=ChoiceLoader([PackageLoader("watchparty.mail", f"jinja/{language}"), _shared]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    for language in LANGUAGES
}


def render(template: str, to: str, context: Mapping[str, Any], language: str = DEFAULT_LANGUAGE) -> Email:
    """The email in the recipient's language (an unknown one, or a job queued before languages: English)."""
    if template not in SUBJECTS[DEFAULT_LANGUAGE]:
        raise ValueError(f"unknown email template {template!r}")
    language = language if language in _envs else DEFAULT_LANGUAGE
    env = _envs[language]
    subject = SUBJECTS[language][template].format(**context)
    html = env.get_template(f"{template}.html").render(subject=subject, lang=language, **context)
    text = env.get_template(f"{template}.txt").render(**context)
    return Email(to=to, subject=subject, text=text, html=html)


def welcome(username: str, base_url: str) -> tuple[str, dict[str, Any]]:
    return "welcome", {"username": username, "base_url": base_url}


def password_reset(username: str, link: str, minutes: int) -> tuple[str, dict[str, Any]]:
    return "password_reset", {"username": username, "link": link, "minutes": minutes}


def room_invite(inviter: str, room_name: str, link: str, days: int) -> tuple[str, dict[str, Any]]:
    return "room_invite", {"inviter": inviter, "room_name": room_name, "link": link, "days": days}
