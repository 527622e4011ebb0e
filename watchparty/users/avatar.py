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
    flat = _flatten(ImageOps.exif_transpose(_decoded_small(data)))
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


WORKING_SIDE: Final = max(SIZES.values()) * 2  # the short side the outputs are made from


def _decoded_small(data: bytes) -> Image.Image:
    """The image decoded, then at once brought down to about `WORKING_SIDE` on its short side and to the centred
    square every output is cut to (ImageOps.fit), so that one full-size copy exists, and only for a moment. A JPEG
    is decoded at a reduced scale straight from the DCT; PNG and WebP have no such thing, so the full decode is
    reduced by an integer factor (a box filter) before any conversion. Cropping before the EXIF rotation is safe:
    rotating a centred square gives the centred square of the rotated image."""
    image: Image.Image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    if image.format == "JPEG":
        image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))
    image.load()
    if image.mode == "P":  # palette indices cannot be averaged
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    factor = min(image.size) // WORKING_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    width, height = image.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        info = image.info
        image = image.crop((left, top, left + side, top + side))
        image.info = info  # the EXIF orientation, for exif_transpose
    return image


# The peak memory of a decode, in bytes per pixel of the upload, measured with Pillow 13 at the largest images
# accepted (bench/avatar_memory.py, docs/benchmarks.md) and rounded up: WebP's decoder fills a canvas and a copy
# of its own before the image's; a progressive JPEG keeps every coefficient, whatever the reduced scale.
DECODE_BYTES_PER_PIXEL: Final = {"JPEG": 8, "PNG": 10, "WEBP": 17}


def decode_cost(info: ImageInfo) -> int:
    """Bytes the decode of this image may need at its peak: what the job reserves before it decodes."""
    return info.width * info.height * DECODE_BYTES_PER_PIXEL.get(info.format, max(DECODE_BYTES_PER_PIXEL.values()))


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
