"""What the media check judges playable in browsers (watchparty.movies.codecs): pure rules."""

from __future__ import annotations

import pytest

from watchparty.movies.codecs import judge_codecs, judge_hls_codecs

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
MKV = "matroska,webm"


@pytest.mark.parametrize(
    ("fmt", "video", "audio"),
    [
        (MP4, ["h264"], ["aac"]),
        (MP4, ["av1"], ["opus"]),
        (MKV, ["vp9"], ["opus"]),  # WebM
        (MKV, ["vp8"], ["vorbis"]),
        (MKV, [], ["opus"]),  # sound only
        ("ogg", ["theora"], ["vorbis"]),
    ],
)
def test_what_plays_everywhere_passes(fmt: str, video: list[str], audio: list[str]) -> None:
    assert judge_codecs(fmt, video, audio) is None


@pytest.mark.parametrize(
    ("fmt", "video", "audio", "words"),
    [
        (MKV, ["hevc"], [], "HEVC (H.265)"),
        (MP4, ["hevc"], ["aac"], "HEVC (H.265)"),
        (MKV, ["h264"], ["aac"], "MKV"),  # Matroska that is not WebM
        (MP4, ["h264"], ["ac3"], "AC-3 (Dolby)"),
        (MP4, ["mpeg4"], ["aac"], "MPEG-4 Part 2"),
        ("avi", ["h264"], ["mp3"], "container (avi)"),
        (MP4, [], [], "no video or audio"),
    ],
)
def test_what_does_not_play_is_refused_with_the_reason(
    fmt: str, video: list[str], audio: list[str], words: str
) -> None:
    problem = judge_codecs(fmt, video, audio)
    assert problem is not None and words in problem


def test_an_hls_stream_needs_one_rendition_browsers_play() -> None:
    assert judge_hls_codecs(["avc1.64001f", "mp4a.40.2"]) is None
    assert judge_hls_codecs(["hvc1.1.6.L93.B0", "avc1.64001f", "mp4a.40.2"]) is None  # the H.264 one plays
    assert judge_hls_codecs([]) is None  # none named: hls.js finds out
    assert "HEVC" in (judge_hls_codecs(["hvc1.1.6.L93.B0", "mp4a.40.2"]) or "")
    assert "AC-3" in (judge_hls_codecs(["avc1.64001f", "ac-3"]) or "")
