"""Issue 19, item 7: nothing of an upload's metadata reaches the served avatars. A JPEG comment segment (or a PNG
text chunk) holding an HTML polyglot is not copied: the outputs are the pixels, re-encoded, and nothing else."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from watchparty.users import avatar

POLYGLOT = b"<html><script>alert(document.domain)</script></html>"


def _jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(out, "JPEG", comment=POLYGLOT)
    assert POLYGLOT in out.getvalue()  # the upload really carries it
    return out.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", POLYGLOT.decode())
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 90, 200, 255)).save(out, "PNG", pnginfo=info)
    assert POLYGLOT in out.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("upload", [_jpeg_with_comment, _png_with_text])
def test_no_comment_or_text_of_the_upload_is_in_any_output(upload: object) -> None:
    assert callable(upload)
    outputs = avatar.process(upload(), max_pixels=16_000_000)
    assert set(outputs) == set(avatar.output_names())
    for name, data in outputs.items():
        assert b"<html>" not in data and b"script" not in data, name
        with Image.open(io.BytesIO(data)) as image:
            assert not {"comment", "exif", "xmp", "icc_profile", "Comment"} & set(image.info), (name, image.info)
