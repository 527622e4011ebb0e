"""Real media for the tests, made with Debian's ffmpeg, and a local media server that plays other sites' roles
(a CDN with or without CORS, with or without ranges). No test reaches beyond 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg")


def need_ffmpeg() -> str:
    if FFMPEG is None:  # .ci/run installs it; a missing one is a broken machine, not a reason to pass
        pytest.fail("ffmpeg is not installed (apt-get install ffmpeg; .ci/run does it)")
    return FFMPEG


def make_hls(out: Path, seconds: int = 24) -> Path:
    """A VOD HLS stream with two renditions (640×360 at 800 kb/s, 320×180 at 200 kb/s), 2 s segments of H.264 and
    AAC, a test pattern with a running timecode; returns the master playlist."""
    out.mkdir(parents=True, exist_ok=True)
    master = out / "master.m3u8"
    if master.exists():
        return master
    subprocess.run(
        [
            need_ffmpeg(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-filter_complex", "[0:v]split=2[hi][lo0];[lo0]scale=320:180[lo]",
            "-map", "[hi]", "-map", "[lo]", "-map", "1:a", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
            "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
            "-b:v:0", "800k", "-b:v:1", "200k", "-c:a", "aac", "-b:a", "64k",
            "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(out / "v%v" / "seg%03d.ts"),
            "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,a:0 v:1,a:1",
            str(out / "v%v" / "index.m3u8"),
        ],
        check=True,
    )  # fmt: skip
    return master


class _Handler(SimpleHTTPRequestHandler):
    cors = True

    def end_headers(self) -> None:
        if self.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith(".m3u8"):
            return "application/vnd.apple.mpegurl"
        if str(path).endswith(".ts"):
            return "video/mp2t"
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class MediaServer:
    url: str
    root: Path


@contextmanager
def media_server(root: Path, *, cors: bool = True) -> Iterator[MediaServer]:
    """Files under `root` on 127.0.0.1, another origin than the app's, with CORS (`Access-Control-Allow-Origin:
    *`) unless told not to."""
    handler = type("Handler", (_Handler,), {"cors": cors})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(f"http://127.0.0.1:{server.server_address[1]}", root)
    finally:
        server.shutdown()
        server.server_close()
