"""The media check: before a URL is offered to a room, is it something a browser will play, from another site?

Reachable (no private address unless a setting allows it, every redirect checked again, the address pinned so
that a second DNS answer cannot differ), its content type (a web page is not a video), range support (a room
seeks), CORS for the origin that plays it (hls.js fetches by script; a plain <video> does not need it), its
duration, and its codecs against what browsers play, read by FFmpeg through PyAV over our own range requests.
Synchronous: the job runs it in a thread. Every outcome is a `Verdict` with a sentence for people."""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import av
import httpx

from watchparty.movies import youtube
from watchparty.movies.codecs import judge_codecs, judge_hls_codecs

MAX_REDIRECTS = 5
HEAD_BYTES = 64 * 1024  # what the first request reads: enough to tell a playlist, a page or a container
MAX_PROBE_BYTES = 16 * 1024 * 1024  # the most FFmpeg may read of a file to find its streams
MAX_PLAYLIST_BYTES = 2 * 1024 * 1024
HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl")
USER_AGENT = "WatchParty media check"

Status = Literal["ready", "refused"]


@dataclass
class Verdict:
    status: Status
    code: str
    message: str
    kind: Literal["file", "hls", "youtube"] | None = None
    content_type: str | None = None
    duration: float | None = None
    codecs: list[str] = field(default_factory=list)
    ranges: bool | None = None
    cors: bool | None = None
    took_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The facts as stored and sent (camelCase, as the API's MediaCheck), without the status."""
        return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k): v for k, v in asdict(self).items() if k != "status"}


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# -- the network: pinned, checked, bounded ---------------------------------------------------------------------


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class Fetcher:
    """GETs for one check: each hop's host resolved once and every address checked (private ones refused unless
    `allow_private`), the connection made to that address (Host and SNI keep the name), redirects followed by
    hand and checked again, and the whole check bounded by `deadline` (time.monotonic)."""

    def __init__(self, *, allow_private: bool, deadline: float, own_origin: str | None = None) -> None:
        self.allow_private = allow_private
        self.deadline = deadline
        self.own_origin = own_origin  # our own server: never "private" to itself
        self.client = httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Refused("timeout", "Its server took too long to answer.")
        return left

    def _pin(self, url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("bad_url", "Only http and https addresses can be played.")
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        origin = f"{parts.scheme}://{parts.netloc}"
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise Refused("unreachable", f"There is no such site ({host}).") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not self.allow_private and origin != self.own_origin and not all(_public(a) for a in addresses):
            raise Refused("private_address", "That address is on a private network, which this server does not reach.")
        ip = addresses[0]
        netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers = {"Host": parts.netloc}
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return pinned, headers, extensions

    def get(
        self, url: str, *, headers: dict[str, str] | None = None, limit: int = HEAD_BYTES
    ) -> tuple[str, httpx.Response, bytes]:
        """The final URL, its response and up to `limit` bytes of its body."""
        seen: set[str] = set()
        for _ in range(MAX_REDIRECTS + 1):
            if url in seen:
                raise Refused("redirect_loop", "Its address redirects in a loop.")
            seen.add(url)
            pinned, host_headers, extensions = self._pin(url)
            timeout = httpx.Timeout(min(self.left(), 10.0))
            try:
                request = self.client.build_request(
                    "GET", pinned, headers={**host_headers, **(headers or {})}, timeout=timeout, extensions=extensions
                )
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException:
                raise Refused("timeout", "Its server took too long to answer.") from None
            except httpx.HTTPError as exc:
                raise Refused("unreachable", f"Its server could not be reached ({type(exc).__name__}).") from None
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise Refused("http_error", "Its server answered with a redirect to nowhere.")
                    url = urljoin(url, location)
                    continue
                body = self._read(response, limit)
                return url, response, body
            finally:
                response.close()
        raise Refused("redirect_loop", f"Its address redirects more than {MAX_REDIRECTS} times.")

    def _read(self, response: httpx.Response, limit: int) -> bytes:
        chunks, size = [], 0
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
                self.left()
        except httpx.TimeoutException:
            raise Refused("timeout", "Its server took too long to send the video.") from None
        except httpx.HTTPError as exc:
            raise Refused("unreachable", f"Its server stopped sending ({type(exc).__name__}).") from None
        return b"".join(chunks)[:limit]


class RangeReader(io.RawIOBase):
    """A seekable file over range requests, for FFmpeg (PyAV) to read a container's header and index: every
    request goes through the checked, pinned `Fetcher`, and no more than MAX_PROBE_BYTES are read in all."""

    def __init__(self, fetcher: Fetcher, url: str, size: int) -> None:
        self.fetcher, self.url, self.size = fetcher, url, size
        self.pos = 0
        self.read_total = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), 512 * 1024, self.size - self.pos)
        if want <= 0:
            return 0
        if self.read_total + want > MAX_PROBE_BYTES:
            raise Refused("unreadable", "Its streams could not be found in the first 16 MiB of the file.")
        _, response, body = self.fetcher.get(
            self.url, headers={"Range": f"bytes={self.pos}-{self.pos + want - 1}"}, limit=want
        )
        if response.status_code != 206:
            raise Refused("no_ranges", "Its server stopped answering range requests.")
        n = len(body)
        buffer[:n] = body
        self.pos += n
        self.read_total += n
        return n


# -- the check ---------------------------------------------------------------------------------------------------


def _cors(response: httpx.Response, origin: str | None) -> bool:
    if origin is None:
        return True
    allowed = str(response.headers.get("access-control-allow-origin", "")).strip()
    return allowed in ("*", origin)


def _total_size(response: httpx.Response) -> int | None:
    match = re.match(r"bytes \d+-\d+/(\d+)", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def check(url: str, *, origin: str | None, allow_private: bool = False, timeout_s: float = 2.5,
          own_origin: str | None = None) -> Verdict:  # fmt: skip
    """The verdict on `url`, as a viewer at `origin` (None: our own origin, where CORS is not asked) would meet
    it. Never raises for what the URL does."""
    started = time.monotonic()
    ref = youtube.parse(url)
    if ref is not None:  # played by YouTube's own player: nothing of ours fetches it (its title and length come
        # from the player once it loads; oEmbed would need the internet)
        return Verdict("ready", "ok", "Ready to play (YouTube).", kind="youtube", content_type=None)
    fetcher = Fetcher(allow_private=allow_private, deadline=started + timeout_s, own_origin=own_origin)
    try:
        verdict = _check(fetcher, url, origin)
    except Refused as exc:
        verdict = Verdict("refused", exc.code, exc.message)
    finally:
        fetcher.close()
    verdict.took_ms = round((time.monotonic() - started) * 1000, 1)
    return verdict


def _check(fetcher: Fetcher, url: str, origin: str | None) -> Verdict:
    headers = {"Range": f"bytes=0-{HEAD_BYTES - 1}", "Accept": "*/*"}
    if origin:
        headers["Origin"] = origin
    final, response, body = fetcher.get(url, headers=headers)
    status = response.status_code
    if status in (404, 410):
        raise Refused("not_found", f"Nothing is at that address (its server says {status}).")
    if status in (401, 403):
        raise Refused("forbidden", f"Its server does not let us in ({status}): the video may need a sign-in.")
    if status >= 400:
        raise Refused("http_error", f"Its server answered with an error ({status}).")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower() or None
    cors = _cors(response, origin)
    head = body[:64].lstrip()
    if head.startswith(b"#EXTM3U") or content_type in HLS_TYPES:
        return _check_hls(fetcher, final, body, content_type, origin, cors)
    if content_type in ("text/html", "application/xhtml+xml") or head[:1] == b"<":
        raise Refused("web_page", "That address is a web page, not a video. Use the address of the video file itself.")
    ranges = status == 206
    size = _total_size(response) if ranges else None
    if not ranges or size is None:
        raise Refused("no_ranges", "Its server does not answer range requests, so the room could not seek in it.")
    reader = RangeReader(fetcher, final, size)
    try:
        with av.open(reader, mode="r", timeout=fetcher.left()) as container:
            fmt = container.format.name
            duration = container.duration / 1_000_000 if container.duration else None
            video = [s.codec_context.name for s in container.streams.video]
            audio = [s.codec_context.name for s in container.streams.audio]
    except Refused:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise Refused("not_media", f"That file is not a video a browser can read ({exc.__class__.__name__}).") from None
    problem = judge_codecs(fmt, video, audio)
    if problem:
        raise Refused("codec", problem)
    message = (
        "Ready to play."
        if cors
        else "Ready to play (its server sends no CORS headers, which a plain video does not need)."
    )
    return Verdict("ready", "ok" if cors else "ok_no_cors", message, kind="file", content_type=content_type,
                   duration=duration, codecs=[*video, *audio], ranges=True, cors=cors)  # fmt: skip


_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _check_hls(
    fetcher: Fetcher, url: str, body: bytes, content_type: str | None, origin: str | None, cors: bool
) -> Verdict:
    if not cors:
        raise Refused(
            "no_cors",
            "This server does not allow other sites to play its video (no CORS headers), and an HLS stream is "
            "fetched by the page.",
        )
    text = body.decode("utf-8", "replace")
    codecs: list[str] = []
    media_url = url
    if "#EXT-X-STREAM-INF" in text:  # a master playlist: its renditions, and the first one read for the length
        lines = text.splitlines()
        variants = []
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF:"):
                attrs = {k: v.strip('"') for k, v in _ATTR.findall(line.split(":", 1)[1])}
                codecs.extend(c.strip() for c in attrs.get("CODECS", "").split(",") if c.strip())
                uri = next((u.strip() for u in lines[i + 1 :] if u.strip() and not u.startswith("#")), None)
                if uri:
                    variants.append(urljoin(url, uri))
        if not variants:
            raise Refused("not_media", "That HLS playlist lists no renditions.")
        problem = judge_hls_codecs(codecs)
        if problem:
            raise Refused("codec", problem)
        media_url = variants[0]
        headers = {"Origin": origin} if origin else {}
        _, response, body = fetcher.get(media_url, headers=headers, limit=MAX_PLAYLIST_BYTES)
        if response.status_code >= 400:
            raise Refused(
                "http_error", f"Its first rendition's playlist answered with an error ({response.status_code})."
            )
        if not _cors(response, origin):
            raise Refused(
                "no_cors",
                "This server does not allow other sites to play its video (no CORS headers on its renditions).",
            )
        text = body.decode("utf-8", "replace")
    if "#EXT-X-ENDLIST" not in text:
        raise Refused("live", "That is a live stream; rooms play recorded (VOD) HLS only, for now.")
    duration = sum(float(m) for m in re.findall(r"#EXTINF:([0-9.]+)", text))
    if duration <= 0:
        raise Refused("not_media", "That HLS playlist has no segments.")
    return Verdict("ready", "ok", "Ready to play (HLS).", kind="hls", content_type=content_type or HLS_TYPES[0],
                   duration=duration, codecs=sorted(set(codecs)), ranges=None, cors=True)  # fmt: skip
