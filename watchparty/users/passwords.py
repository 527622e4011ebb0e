"""The password policy, in the manner of OWASP ASVS 5.0 level 2 (V6.2): 8 to 128 characters of any kind, spaces
included and never trimmed, no composition rules; refused when it is one of the 30,000 most common passwords, or
when it contains the account's username or email address.

The common list is the `passwords` list of zxcvbn (MIT; 30,000 passwords from Mark Burnett's 10 million password
set, released to the public domain), pinned in uv.lock; 11,611 of them have 8 characters or more."""

from __future__ import annotations

import functools
from typing import Final

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 128
_NAME_MIN: Final = 3  # shorter names and email parts are not looked for: they would refuse too much


@functools.cache
def common_passwords() -> frozenset[str]:
    """Loaded on first use (0.1 s, 14 MiB): a process that never sets a password never pays for it."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str) -> str | None:
    """What is wrong with a password on its own, in a sentence for the person choosing it; None if nothing."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters"
    if not password.strip():
        return "A password cannot be only spaces"
    if "\x00" in password:
        return "A password cannot contain a NUL character"
    if password.lower() in common_passwords():
        return "This is one of the most common passwords, which are tried first; choose another"
    return None


def problem_with(password: str, *, username: str | None, email: str | None) -> str | None:
    """`problem`, and whether the password contains the username, the email address or its local part."""
    found = problem(password)
    if found is not None:
        return found
    lowered = password.lower()
    if username and len(username) >= _NAME_MIN and username.lower() in lowered:
        return "A password cannot contain your username"
    if email:
        local = email.partition("@")[0]
        if email.lower() in lowered or (len(local) >= _NAME_MIN and local.lower() in lowered):
            return "A password cannot contain your email address"
    return None
