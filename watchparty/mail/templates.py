"""Email bodies. Pure functions: data in, (subject, text) out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


def welcome(to: str, username: str, base_url: str) -> Email:
    return Email(
        to,
        "Welcome to WatchParty",
        f"Hi {username},\n\nyour WatchParty account is ready. Create a room and invite your friends:\n{base_url}/\n",
    )


def password_reset(to: str, username: str, link: str, minutes: int) -> Email:
    return Email(
        to,
        "Reset your WatchParty password",
        f"Hi {username},\n\nsomeone asked to reset the password of your WatchParty account.\n"
        f"If it was you, open this link within {minutes} minutes:\n\n{link}\n\n"
        "If it was not you, ignore this email; your password stays as it is.\n",
    )


def room_invite(to: str, inviter: str, room_name: str, link: str) -> Email:
    return Email(
        to,
        f"{inviter} invited you to watch together",
        f'{inviter} invited you to the WatchParty room "{room_name}".\n\nJoin here:\n\n{link}\n',
    )
