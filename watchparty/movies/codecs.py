"""What browsers play, as the media check judges it. Pure: names in, a sentence out (None: it plays).

The common ground of Chromium, Firefox and Safari: MP4 with H.264, AV1 or VP9 video and AAC, MP3, Opus or FLAC
audio; WebM with VP8, VP9 or AV1 and Opus or Vorbis; Ogg with Theora and Vorbis/Opus. HEVC plays only on some
systems, and MKV (Matroska that is not WebM) in one browser; both are refused with the reason."""

from __future__ import annotations

VIDEO_NAMES = {
    "h264": "H.264",
    "hevc": "HEVC (H.265)",
    "vp8": "VP8",
    "vp9": "VP9",
    "av1": "AV1",
    "mpeg4": "MPEG-4 Part 2",
    "mpeg2video": "MPEG-2",
    "theora": "Theora",
    "prores": "ProRes",
}
AUDIO_NAMES = {"aac": "AAC", "mp3": "MP3", "opus": "Opus", "vorbis": "Vorbis", "flac": "FLAC", "ac3": "AC-3 (Dolby)",
               "eac3": "E-AC-3 (Dolby)", "dts": "DTS", "truehd": "TrueHD", "pcm_s16le": "PCM"}  # fmt: skip

PLAYS = {
    "mp4": ({"h264", "av1", "vp9"}, {"aac", "mp3", "opus", "flac"}),
    "webm": ({"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
    "ogg": ({"theora", "vp8"}, {"vorbis", "opus", "flac"}),
}


def _container(format_name: str, video: list[str], audio: list[str]) -> str | None:
    names = set(format_name.split(","))
    if names & {"mov", "mp4"}:
        return "mp4"
    if "webm" in names or "matroska" in names:  # FFmpeg reads both as one; WebM is Matroska with WebM's codecs
        webm_video, webm_audio = PLAYS["webm"]
        return "webm" if set(video) <= webm_video and set(audio) <= webm_audio else "mkv"
    if "ogg" in names:
        return "ogg"
    return None


def _name(codec: str, names: dict[str, str]) -> str:
    return names.get(codec, codec.upper())


def judge_codecs(format_name: str, video: list[str], audio: list[str]) -> str | None:
    """Why a file with this container and these streams will not play in browsers; None if it will."""
    if not video and not audio:
        return "That file has no video or audio in it."
    container = _container(format_name, video, audio)
    for codec in video:
        if codec == "hevc":
            return "Its video is HEVC (H.265), which most browsers cannot play. H.264, VP9 or AV1 plays everywhere."
    if container == "mkv":
        streams = ", ".join([_name(c, VIDEO_NAMES) for c in video] + [_name(c, AUDIO_NAMES) for c in audio])
        return (
            "It is an MKV file, which browsers play only as WebM (VP8, VP9 or AV1 with Opus or Vorbis). "
            f"Its streams: {streams}."
        )
    if container is None:
        return f"Its container ({format_name}) does not play in browsers. MP4 or WebM plays everywhere."
    video_ok, audio_ok = PLAYS[container]
    for codec in video:
        if codec not in video_ok:
            return f"Its video is {_name(codec, VIDEO_NAMES)}, which browsers cannot play in {container.upper()}."
    for codec in audio:
        if codec not in audio_ok:
            return f"Its sound is {_name(codec, AUDIO_NAMES)}, which browsers cannot play in {container.upper()}."
    return None


HLS_VIDEO = ("avc1", "avc3", "vp09", "av01")
HLS_AUDIO = ("mp4a", "mp3", "opus", "flac")


def judge_hls_codecs(codecs: list[str]) -> str | None:
    """Why no rendition of an HLS stream (its CODECS attributes) will play; None if one will, or none are named."""
    if not codecs:
        return None  # many playlists name none: the browser finds out, and hls.js says so
    video = [c for c in codecs if c.startswith(("avc", "hvc", "hev", "vp09", "vp8", "av01", "dvh"))]
    if video and not any(c.startswith(HLS_VIDEO) for c in video):
        return "Its renditions are HEVC (H.265) or Dolby Vision only, which most browsers cannot play."
    audio = [c for c in codecs if c not in video]
    if audio and not any(c.startswith(HLS_AUDIO) for c in audio):
        return "Its sound is AC-3 or another codec that most browsers cannot play; AAC plays everywhere."
    return None
