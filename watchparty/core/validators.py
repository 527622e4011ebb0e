"""Reusable field types for request bodies."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_url(value: str) -> str:
    """An absolute http(s) URL, or a path on this server (the sample clip is /sample/countdown.webm)."""
    lowered = value.lower()
    if lowered.startswith(("http://", "https://")):
        if len(value) < 10 or any(c.isspace() for c in value):
            raise ValueError("Enter a full web address, like https://example.com/video.mp4.")
        return value
    if value.startswith("/") and not value.startswith("//") and not any(c.isspace() for c in value):
        return value
    raise ValueError("Enter a web address starting with https:// (or a path on this server, starting with /).")


def origin_of(url: str) -> str:
    """The scheme and host (with port) of an absolute URL, as CORS and CSP name an origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_media_url(value: str) -> str:
    """A media URL from a person (a playlist item, an import line): absolute http(s) with a host, no spaces."""
    value = value.strip()
    if len(value) > 2048:
        raise ValueError("A web address can be at most 2048 characters.")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError("Enter a full web address, like https://example.com/video.mp4.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("Enter a web address starting with https:// or http://.")
    if not parts.hostname or any(c.isspace() for c in value) or _CONTROL.search(value):
        raise ValueError("Enter a full web address, like https://example.com/video.mp4.")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def no_control_chars(value: str) -> str:
    """Multi-line text: tabs and newlines pass, other control characters and lone surrogates do not."""
    if _CONTROL.search(value) or not _encodable(value):
        raise ValueError("Control characters are not allowed")
    return value


def single_line(value: str) -> str:
    """Names and titles: no control characters at all, newlines included (they also end up in email headers)."""
    if _CONTROL.search(value) or "\n" in value or "\r" in value or "\t" in value or not _encodable(value):
        raise ValueError("Must be a single line without control characters")
    return value


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048), AfterValidator(_check_url)
]


MediaUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048), AfterValidator(check_media_url)
]


def _bounded(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Title = Annotated[str, _bounded(1, 200), AfterValidator(single_line)]
Name = Annotated[str, _bounded(1, 100), AfterValidator(single_line)]
Description = Annotated[str, _bounded(0, 5000), AfterValidator(no_control_chars)]
Genre = Annotated[str, _bounded(1, 40), AfterValidator(single_line)]

SearchText = Annotated[str, _bounded(0, 100), AfterValidator(single_line)]
# A BCP 47 language tag as subtitles use it: "en", "pt-BR", "zh-Hant"
Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    ),
]
TrackLabel = Annotated[str, _bounded(1, 60), AfterValidator(single_line)]
