"""Real image files for the upload tests, made with Pillow."""

from __future__ import annotations

import io

from PIL import Image

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def photo(width: int = 4000, height: int = 3000, orientation: int = 6, gps: bool = True) -> bytes:
    """A JPEG whose left half is red and right half blue, with an EXIF orientation and GPS position.
    Shown upright (orientation 6: turned a quarter clockwise), red is on top and blue below."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "WatchParty Test Camera"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (52.0, 31.0, 12.0)
        gps_ifd[3] = "E"
        gps_ifd[4] = (13.0, 24.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 128)).save(out, "PNG")
    return out.getvalue()


def webp(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 255)).save(out, "WEBP")
    return out.getvalue()


def bomb_png(side: int = 20_000) -> bytes:
    """400 megapixels of one bit each: a few dozen KB on disk, gigabytes once decoded."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def hostile(fmt: str, side: int = 4096) -> bytes:
    """A small file of the most pixels an avatar may have (AVATAR_MAX_PIXELS is 4096²): a flat colour compresses to
    a few dozen KiB, and decodes to 64 MiB and more. PNG and WebP with alpha; the JPEG progressive, which keeps every
    coefficient in memory whatever scale it is decoded at."""
    out = io.BytesIO()
    if fmt == "JPEG":
        Image.new("RGB", (side, side), (10, 200, 30)).save(out, "JPEG", progressive=True)
    else:
        Image.new("RGBA", (side, side), (10, 200, 30, 128)).save(out, fmt)
    return out.getvalue()
