"""YouTube URLs in every form people paste, as a video id and a start time. Pure: a string in, an answer out.

watch?v=ID (www., m., music.), youtu.be/ID, /shorts/ID, /embed/ID, /live/ID, /v/ID, youtube-nocookie.com/embed/ID,
each with an optional start: t=90, t=1m30s, t=1h2m3s, start=90, or #t=90."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com",
          "www.youtube-nocookie.com"}  # fmt: skip
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_PATHS = ("/shorts/", "/embed/", "/live/", "/v/", "/e/")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


@dataclass(frozen=True)
class YouTubeRef:
    video_id: str
    start: int = 0  # seconds

    @property
    def canonical_url(self) -> str:
        return f"https://www.youtube.com/watch?v={self.video_id}" + (f"&t={self.start}" if self.start else "")


def _seconds(value: str | None) -> int:
    if not value:
        return 0
    match = _DURATION.match(value.strip().lower())
    if not match or not any(match.groups()):
        return 0
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return h * 3600 + m * 60 + s


def parse(url: str) -> YouTubeRef | None:
    """The YouTube video a URL names, or None if it names none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    query = parse_qs(parts.query)
    fragment = parse_qs(parts.fragment)
    video_id: str | None = None
    if host in _SHORT_HOSTS:
        video_id = parts.path.strip("/").split("/")[0]
    elif host in _HOSTS:
        if parts.path in ("/watch", "/watch/"):
            video_id = next(iter(query.get("v", [])), None)
        else:
            for prefix in _PATHS:
                if parts.path.startswith(prefix):
                    video_id = parts.path[len(prefix) :].split("/")[0]
                    break
    if not video_id or not _ID.match(video_id):
        return None
    start = _seconds(next(iter(query.get("t") or query.get("start") or fragment.get("t") or []), None))
    return YouTubeRef(video_id, start)
