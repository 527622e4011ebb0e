"""The demo movie: the sample clip the app ships (watchparty/web/static/sample), put in the catalogue when
`watchparty serve` runs on embedded defaults, so that a first room has something to play."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from watchparty.core.cache import invalidate
from watchparty.models import Movie

SAMPLE_VIDEO_PATH = "/sample/countdown.webm"
DEMO_TITLE = "WatchParty sample clip"


async def ensure_demo_movie(session: AsyncSession) -> tuple[Movie, bool]:
    """The demo movie, added if the catalogue does not have it yet; and whether it was added now."""
    existing = await session.scalar(select(Movie).where(Movie.video_url == SAMPLE_VIDEO_PATH).limit(1))
    if existing is not None:
        return existing, False
    movie = Movie(
        title=DEMO_TITLE,
        video_url=SAMPLE_VIDEO_PATH,
        description="30 seconds with the time and frame number burned in and a beep every second: "
        "open it in two windows to see (and hear) them in sync.",
        duration_seconds=30,
        year=2026,
        genres=["Demo"],
        created_by=None,
        # our own file, known to play: no check needed
        check_status="ready",
        media_check={
            "code": "ok",
            "message": "Ready to play.",
            "kind": "file",
            "contentType": "video/webm",
            "codecs": ["vp9", "opus"],
            "ranges": True,
            "cors": True,
        },
    )
    session.add(movie)
    await session.flush()
    invalidate(session, "movies")
    return movie, True
