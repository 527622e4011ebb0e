"""An uploaded video made into HLS (ADR 0021), with FFmpeg through PyAV, the wheel the media check uses.

`inspect` decides whether a file is a video we can make playable, in words a person reads, before any encoding:
not a video, no picture, a codec FFmpeg cannot decode, a frame or a length over the limits, a truncated file (its
last seconds do not decode). `transcode` decodes the file once and encodes each rendition (H.264 main and AAC, a
2 s GOP, 4 s segments) into one HLS muxer, as an EVENT playlist that grows while it works and ends with
`#EXT-X-ENDLIST`; segments and playlists are written to a temporary name and renamed, so a reader never sees half
a file. Nothing here touches the database: the job (movies/upload_tasks.py) does, through the callbacks."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

MAX_WIDTH, MAX_HEIGHT = 3840, 2160
SEGMENT_S = 4
GOP_S = 2


@dataclass(frozen=True)
class Rendition:
    name: str
    height: int
    video_bitrate: int  # bits per second
    audio_bitrate: int = 128_000


# The ladder: every rendition at or below the source's height, and never fewer than two.
LADDER = (Rendition("720p", 720, 2_500_000), Rendition("360p", 360, 800_000, 96_000))


class Rejected(Exception):
    """The file cannot become playable; `code` for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SourceInfo:
    duration: float
    width: int
    height: int
    fps: Fraction
    video_codec: str
    audio_codec: str | None

    def renditions(self) -> list[tuple[Rendition, int, int]]:
        """(rendition, width, height) for each output: even sizes, the source's shape, never upscaled."""
        picked = [r for r in LADDER if r.height <= self.height] or [LADDER[-1]]
        if len(picked) < 2:  # a small source: itself and half of it
            picked = [Rendition("source", self.height, LADDER[-1].video_bitrate),
                      Rendition("half", max(2, self.height // 2), LADDER[-1].video_bitrate // 2, 64_000)]  # fmt: skip
        out = []
        for r in picked:
            height = min(r.height, self.height) // 2 * 2
            width = max(2, round(self.width * height / self.height / 2) * 2)
            out.append((r, width, height))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "duration": round(self.duration, 3), "width": self.width, "height": self.height,
            "fps": round(float(self.fps), 3), "videoCodec": self.video_codec, "audioCodec": self.audio_codec,
        }  # fmt: skip


def inspect(path: Path, *, max_duration_s: float) -> SourceInfo:
    """What the file is, or Rejected saying why it cannot be played."""
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise Rejected("not_media", "This file is not a video FFmpeg can read.") from None
    with container:
        if not container.streams.video:
            raise Rejected("no_video", "This file has no picture (is it audio only?).")
        video = container.streams.video[0]
        context = video.codec_context
        if context is None or not context.name or context.name == "none":
            tag = getattr(video, "codec_tag", "") or "unknown"
            raise Rejected("codec", f"This file's video codec ({tag}) is not one FFmpeg can decode.")
        codec_name, width, height = context.name, context.width, context.height
        if width <= 0 or height <= 0:
            raise Rejected("unreadable", "This file's picture has no size.")
        if width > MAX_WIDTH or height > MAX_HEIGHT:
            raise Rejected("frame_too_large", f"The picture is {width}×{height}; at most {MAX_WIDTH}×{MAX_HEIGHT}.")
        duration = _duration(container, video)
        if duration is None or duration <= 0:
            raise Rejected("unreadable", "This file's length cannot be read.")
        if duration > max_duration_s:
            raise Rejected("too_long", f"The video is {duration / 3600:.1f} h long; at most "
                                       f"{max_duration_s / 3600:.0f} h.")  # fmt: skip
        fps = video.average_rate or video.guessed_rate or Fraction(25)
        if not 1 <= fps <= 240:
            fps = Fraction(25)
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_codec = audio.codec_context.name if audio is not None and audio.codec_context else None
        if not _decodes_at(container, video, 0.0):
            raise Rejected("codec", f"The video ({codec_name}) does not decode.")
        if duration > 4 and not _decodes_at(container, video, max(0.0, duration - 3)):
            raise Rejected("truncated", "The file ends early: its last seconds are missing (was the upload cut?).")
        return SourceInfo(duration, width, height, Fraction(fps), codec_name, audio_codec)


def _duration(container: Any, video: Any) -> float | None:
    if container.duration:
        return float(container.duration) / av.time_base
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    return None


def _decodes_at(container: Any, video: Any, at_s: float) -> bool:
    """Whether a picture at `at_s` seconds decodes: seek to the keyframe before it and decode up to it (a long GOP
    of up to 3000 pictures is given the benefit of the doubt)."""
    try:
        if at_s > 0:
            container.seek(int(at_s * av.time_base), backward=True, any_frame=False)
        for count, frame in enumerate(container.decode(video)):
            if frame.time is None or frame.time >= at_s - 0.5 or count >= 3000:
                return True
    except (av.error.FFmpegError, ValueError):
        return False
    return False


Progress = Callable[[float], None]


def transcode(
    source: Path, out: Path, info: SourceInfo, *, on_progress: Progress, on_first_segments: Callable[[], None],
    preset: str = "veryfast",
) -> dict[str, Any]:  # fmt: skip
    """Make `out`/master.m3u8 and one folder per rendition (v0, v1, …). `out` is emptied first: a run that was
    cut short (a killed worker) starts again from nothing. Returns the renditions and the bytes written."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    ladder = info.renditions()
    started = time.monotonic()
    try:
        with av.open(str(source), metadata_errors="ignore") as inp:
            _encode(inp, out, info, ladder, preset, on_progress, on_first_segments)
    except av.error.FFmpegError as exc:
        raise Rejected("unreadable", f"FFmpeg could not read the file through: {exc.strerror or exc}") from None
    size = folder_bytes(out)
    return {"renditions": [{"name": r.name, "width": w, "height": h, "bitrate": r.video_bitrate}
                           for r, w, h in ladder],
            "bytes": size, "seconds": round(time.monotonic() - started, 2)}  # fmt: skip


def _encode(
    inp: Any, out: Path, info: SourceInfo, ladder: list[tuple[Rendition, int, int]], preset: str,
    on_progress: Progress, on_first_segments: Callable[[], None],
) -> None:  # fmt: skip
    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"
    ain = inp.streams.audio[0] if inp.streams.audio and info.audio_codec else None
    fps = info.fps
    gop = str(max(1, round(fps * GOP_S)))
    stream_map = " ".join(f"v:{i},a:{i}" if ain is not None else f"v:{i}" for i in range(len(ladder)))
    muxer = av.open(
        str(out / "v%v" / "index.m3u8"), "w", format="hls",
        options={"hls_time": str(SEGMENT_S), "hls_playlist_type": "event",
                 "hls_flags": "temp_file+independent_segments",
                 "hls_segment_filename": str(out / "v%v" / "seg%05d.ts"),
                 "master_pl_name": "master.m3u8", "var_stream_map": stream_map},
    )  # fmt: skip
    with muxer:
        vouts = []
        for rendition, width, height in ladder:
            rate = str(rendition.video_bitrate)
            stream = muxer.add_stream("libx264", rate=fps, options={
                "preset": preset, "profile": "main", "sc_threshold": "0", "g": gop, "keyint_min": gop,
                "b": rate, "maxrate": rate, "bufsize": str(rendition.video_bitrate * 2)})  # fmt: skip
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = 1 / fps
            vouts.append(stream)
        aouts = []
        if ain is not None:
            for rendition, _, _ in ladder:
                audio = muxer.add_stream("aac", rate=48000, options={"b": str(rendition.audio_bitrate)})
                audio.layout = "stereo"
                aouts.append(audio)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000, frame_size=1024)
        frames, last_report, first_sent = 0, 0.0, False
        sources = [vin] + ([ain] if ain is not None else [])
        for frame in inp.decode(*sources):
            if isinstance(frame, av.VideoFrame):
                for stream in vouts:
                    picture = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
                    picture.pts, picture.time_base = frames, 1 / fps
                    for packet in stream.encode(picture):
                        muxer.mux(packet)
                frames += 1
                position = frames / float(fps)
                if position - last_report >= 0.5:  # twice a second of video: a read of the playlists, a report
                    last_report = position
                    on_progress(min(0.999, position / info.duration))
                    if not first_sent and _first_segments(out, len(ladder)):
                        first_sent = True
                        on_first_segments()
            else:
                for chunk in resampler.resample(frame):
                    for audio_out in aouts:
                        for packet in audio_out.encode(chunk):
                            muxer.mux(packet)
        for video_out in vouts:
            muxer.mux(video_out.encode(None))
        for audio_out in aouts:
            muxer.mux(audio_out.encode(None))
    if frames == 0:
        raise Rejected("unreadable", "No picture of this file could be decoded.")
    if frames / float(fps) < info.duration * 0.9 - 2:
        raise Rejected("truncated", f"The file ends early: {frames / float(fps):.0f} s of {info.duration:.0f} s "
                                    "decoded (was the upload cut?).")  # fmt: skip
    if not first_sent:
        on_first_segments()


def _first_segments(out: Path, renditions: int) -> bool:
    """The master playlist and each rendition's playlist with a segment in it: viewers can start."""
    if not (out / "master.m3u8").exists():
        return False
    for i in range(renditions):
        playlist = out / f"v{i}" / "index.m3u8"
        try:
            if "#EXTINF" not in playlist.read_text():
                return False
        except OSError:
            return False
    return True


def remove(out: Path) -> None:
    """A rendition folder gone, whatever it holds."""
    shutil.rmtree(out, ignore_errors=True)


def folder_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0
