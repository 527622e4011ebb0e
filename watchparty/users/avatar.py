"""Avatar images with Pillow: checks that read the header only, and the pipeline the image job runs.
Pure functions of bytes; no I/O, so that the job runs them in a thread off the event loop."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps

FORMATS: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
SIZES: Final = {"thumbnail": 150, "medium": 600}
JPEG_QUALITY: Final = 85
WEBP_QUALITY: Final = 80


class ImageRejected(Exception):
    """Why an upload is refused; `kind` is unsupported, too_large, or broken."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def inspect(data: bytes, max_pixels: int) -> ImageInfo:
    """Judge an upload by its content, reading the header and the trailer only, never decoding the pixels."""
    if not data:
        raise ImageRejected("broken", "The file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError as exc:
        raise ImageRejected("too_large", "The image has too many pixels") from exc
    except Exception as exc:  # Pillow raises several kinds for "not an image I know"
        raise ImageRejected("unsupported", "The file is not a JPEG, PNG or WebP image") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("broken", "The image has no pixels")
    if width * height > max_pixels:
        raise ImageRejected(
            "too_large", f"The image is {width}×{height}; at most {max_pixels // 1_000_000} megapixels are accepted"
        )
    if not _complete(image.format or "", data):
        raise ImageRejected("broken", "The image is truncated")
    return ImageInfo(image.format or "", width, height)


def _complete(fmt: str, data: bytes) -> bool:
    """The format's end marker is where it should be (a cheap, decode-free truncation check)."""
    if fmt == "JPEG":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if fmt == "PNG":
        return b"IEND" in data[-32:]
    if fmt == "WEBP":
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return False


def output_names() -> list[str]:
    return [f"{name}.{ext}" for name in SIZES for ext in ("jpg", "webp")]


def process(data: bytes, max_pixels: int) -> dict[str, bytes]:
    """EXIF orientation applied, all metadata dropped; a square thumbnail and medium size, each as a
    progressive JPEG and a WebP. Keys: thumbnail.jpg, thumbnail.webp, medium.jpg, medium.webp."""
    inspect(data, max_pixels)
    with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
        if image.format == "JPEG":
            # decode at a reduced scale straight from the DCT: a 12 MP photo costs a fraction of the memory
            image.draft("RGB", (max(SIZES.values()) * 2, max(SIZES.values()) * 2))
        image.load()
        upright = ImageOps.exif_transpose(image)
    flat = _flatten(upright)
    outputs: dict[str, bytes] = {}
    for name, side in SIZES.items():
        square = ImageOps.fit(flat, (side, side), method=Image.Resampling.LANCZOS)
        # Pillow carries the source's `info` (a JPEG comment, PNG text, XMP) into new images and writes some of it
        # on save: an HTML polyglot in a comment would be served from our origin. Only the pixels go out.
        square.info = {}
        jpeg = io.BytesIO()
        # no exif=, no icc_profile=: nothing of the original's metadata is written
        square.save(jpeg, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
        webp = io.BytesIO()
        square.save(webp, "WEBP", quality=WEBP_QUALITY, method=4)
        outputs[f"{name}.jpg"] = jpeg.getvalue()
        outputs[f"{name}.webp"] = webp.getvalue()
    return outputs


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
