"""Subtitles in, WebVTT out (pysubs2), served from our own origin so that CORS never blocks a track.

SRT, WebVTT and ASS/SSA are read; the text's encoding is UTF-8 or UTF-16 when it says so (a byte-order mark) or
decodes cleanly, else what charset-normalizer finds among CP1251 and Latin-1 (the common legacy encodings of
subtitle files). Every refusal is a `SubtitleRejected` with a sentence for people."""

from __future__ import annotations

import codecs
import warnings

import charset_normalizer
import pysubs2

MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
MAX_CUES = 20_000
FORMATS = {"srt": "SRT", "vtt": "WebVTT", "ass": "ASS", "ssa": "SSA"}
LEGACY = ("cp1251", "latin_1")


class SubtitleRejected(ValueError):
    pass


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode("utf-8-sig" if name == "utf-8" else name), name
    if raw[:200].count(b"\x00") > 20:  # UTF-16 without a mark: every other byte of ASCII text is zero
        even, odd = raw[0:200:2].count(0), raw[1:200:2].count(0)
        name = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return raw.decode(name), "utf-16"
        except UnicodeDecodeError:
            raise SubtitleRejected("The file looks like UTF-16 but does not decode as it.") from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw, cp_isolation=list(LEGACY)).best()
    name = best.encoding if best is not None else "latin_1"
    return raw.decode(name, errors="replace"), "cp1251" if name == "cp1251" else "latin-1"


def to_vtt(raw: bytes, filename: str | None = None) -> tuple[str, str, str, int]:
    """(WebVTT text, the source format, the encoding, how many cues) of a subtitle file."""
    if not raw.strip():
        raise SubtitleRejected("The subtitle file is empty.")
    if len(raw) > MAX_SUBTITLE_BYTES:
        raise SubtitleRejected(f"The subtitle file is over {MAX_SUBTITLE_BYTES // (1024 * 1024)} MiB.")
    text, encoding = decode(raw)
    try:
        with warnings.catch_warnings():  # a style it cannot read falls back to the default: not the viewer's concern
            warnings.simplefilter("ignore", RuntimeWarning)
            subs = pysubs2.SSAFile.from_string(text)
    except (pysubs2.exceptions.FormatAutodetectionError, pysubs2.exceptions.UnknownFormatIdentifierError):
        raise SubtitleRejected("This is not a subtitle file we can read (SRT, WebVTT, ASS or SSA).") from None
    except (ValueError, KeyError, IndexError) as exc:
        raise SubtitleRejected(f"The subtitle file is broken ({exc.__class__.__name__}).") from None
    fmt = subs.format or (filename or "").rsplit(".", 1)[-1].lower()
    cues = [e for e in subs.events if not e.is_comment and e.plaintext.strip()]
    if not cues:
        raise SubtitleRejected("The subtitle file has no cues in it.")
    if len(cues) > MAX_CUES:
        raise SubtitleRejected(f"The subtitle file has more than {MAX_CUES} cues.")
    subs.events = cues
    return subs.to_string("vtt"), FORMATS.get(fmt, fmt.upper()), encoding, len(cues)
