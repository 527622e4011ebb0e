"""YouTube URLs in every form people paste (watchparty.movies.youtube)."""

from __future__ import annotations

import pytest

from watchparty.movies.youtube import YouTubeRef, parse

ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    ("url", "start"),
    [
        (f"https://www.youtube.com/watch?v={ID}", 0),
        (f"https://youtube.com/watch?v={ID}&list=PL123&index=2", 0),
        (f"http://m.youtube.com/watch?v={ID}&feature=share", 0),
        (f"https://music.youtube.com/watch?v={ID}", 0),
        (f"https://www.youtube.com/watch?app=desktop&v={ID}&t=90", 90),
        (f"https://www.youtube.com/watch?v={ID}&t=1m30s", 90),
        (f"https://www.youtube.com/watch?v={ID}&t=1h2m3s", 3723),
        (f"https://www.youtube.com/watch?v={ID}#t=42", 42),
        (f"https://youtu.be/{ID}", 0),
        (f"https://youtu.be/{ID}?t=15", 15),
        (f"https://youtu.be/{ID}?si=abcDEF&t=2m", 120),
        (f"https://www.youtube.com/shorts/{ID}", 0),
        (f"https://youtube.com/shorts/{ID}?feature=share", 0),
        (f"https://www.youtube.com/embed/{ID}?start=30", 30),
        (f"https://www.youtube-nocookie.com/embed/{ID}", 0),
        (f"https://www.youtube.com/live/{ID}?si=x", 0),
        (f"https://www.youtube.com/v/{ID}", 0),
        (f"  https://www.youtube.com/watch?v={ID}  ", 0),
    ],
)
def test_every_form_names_the_video_and_its_start(url: str, start: int) -> None:
    assert parse(url) == YouTubeRef(ID, start)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQextra",
        "https://www.youtube.com/channel/UC1234567890",
        "https://www.youtube.com/@someone",
        f"https://evil.example/watch?v={ID}",
        f"https://youtube.com.evil.example/watch?v={ID}",
        f"ftp://youtu.be/{ID}",
        "https://youtu.be/",
        "not a url",
        "https://example.com/movie.mp4",
    ],
)
def test_what_is_not_a_youtube_video_is_none(url: str) -> None:
    assert parse(url) is None


def test_the_canonical_url_keeps_the_start() -> None:
    assert YouTubeRef(ID, 90).canonical_url == f"https://www.youtube.com/watch?v={ID}&t=90"
    assert YouTubeRef(ID).canonical_url == f"https://www.youtube.com/watch?v={ID}"
