"""Real media for the tests, made with Debian's ffmpeg, and a local media server that plays other sites' roles
(a CDN with or without CORS, with or without ranges). No test reaches beyond 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
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
    """Files with byte ranges (one range a request, as players ask), CORS unless `cors` is off, and a few paths
    that fail on purpose: /hang (never answers in time), /loop (redirects to itself), /bounce (to /loop)."""

    cors = True
    ranges = True

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

    def translate_path(self, path: str) -> str:
        if path.startswith("/clips/"):  # any name under /clips/ is the one clip: many catalogue URLs, one file
            path = "/clip.mp4"
        return super().translate_path(path)

    def do_GET(self) -> None:
        if self.path.startswith("/hang"):
            time.sleep(10)
            return
        if self.path.startswith(("/loop", "/bounce")):
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not (self.ranges and match and path.is_file()):
            super().do_GET()
            return
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return
        with path.open("rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-file (a probe that has read enough) is not an error here


@dataclass
class MediaServer:
    url: str
    root: Path


@contextmanager
def media_server(root: Path, *, cors: bool = True, ranges: bool = True) -> Iterator[MediaServer]:
    """Files under `root` on 127.0.0.1, another origin than the app's, with CORS (`Access-Control-Allow-Origin:
    *`) and byte ranges unless told not to."""
    handler = type("Handler", (_Handler,), {"cors": cors, "ranges": ranges})
    server = _Server(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MediaServer(f"http://127.0.0.1:{server.server_address[1]}", root)
    finally:
        server.shutdown()
        server.server_close()


def make_clip(out: Path, *, seconds: int = 10, name: str = "clip.mp4", video: str = "libx264",
              args: tuple[str, ...] = ("-movflags", "+faststart")) -> Path:  # fmt: skip
    """A short clip (a test pattern and a tone) that browsers play: H.264 and AAC in MP4 unless told otherwise."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    if not path.exists():
        audio = ["-c:a", "aac"] if name.endswith((".mp4", ".mov")) else ["-c:a", "libopus"]
        source = f"testsrc2=size=320x180:rate=25:duration={seconds}"
        tone = f"sine=frequency=440:duration={seconds}"
        subprocess.run(
            [need_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-f", "lavfi", "-i", tone,
             "-c:v", video, "-preset", "ultrafast", "-pix_fmt", "yuv420p", *audio, *args, str(path)],
            check=True,
        )  # fmt: skip
    return path


_LOCAL: MediaServer | None = None
_LOCAL_LOCK = threading.Lock()
_KEEP: list[object] = []  # the server's context, so that it is not collected (and closed) while in use


def local_clip_url(name: str = "") -> str:
    """The URL of a real, playable clip on a media server of this test process (started at first use, with CORS
    and ranges), for tests whose movies must pass the media check but are not about it. `name` makes another
    catalogue URL (`/clips/{name}.mp4`, titled `name`) for the same file."""
    global _LOCAL
    with _LOCAL_LOCK:
        if _LOCAL is None:
            root = Path(tempfile.mkdtemp(prefix="watchparty-media-"))
            make_clip(root)
            context = media_server(root)
            _KEEP.append(context)
            _LOCAL = context.__enter__()  # lives as long as the test process
    return f"{_LOCAL.url}/clips/{name}.mp4" if name else f"{_LOCAL.url}/clip.mp4"


def local_file_url(name: str, content: bytes) -> str:
    """The URL of a file with this content on the same local media server as `local_clip_url`."""
    base = local_clip_url().rsplit("/", 1)[0]
    assert _LOCAL is not None
    (_LOCAL.root / name).write_bytes(content)
    return f"{base}/{name}"
