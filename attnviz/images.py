"""Images in: a path, the bytes of an upload or a PIL image, read with hostile input in mind.

What a browser or a caller hands over is bounded before it is decoded: at most :data:`MAX_IMAGE_BYTES` of file,
PNG or JPEG only (Pillow is asked to try those formats alone, so no other decoder sees the bytes), and the size the
header states is checked against :data:`MAX_IMAGE_PIXELS` *before* any pixel is decoded: a decompression bomb (a
small file stating a huge image) is refused while it is still a header. Pillow's own bomb guard stays on as a second
line. What passes is decoded once, in RGB, and handed to the model's own image processor (resize, normalise).
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any

from .text import InputError

MAX_IMAGE_BYTES = 4 * 1024 * 1024  # a photo from a phone fits; the models here read 28 to 518 pixels a side
MAX_IMAGE_PIXELS = 16_000_000  # stated by the header, checked before decoding (a 4000 x 4000 photo passes)
FORMATS = ("PNG", "JPEG")


def read_image(source: Any):
    """A decoded RGB ``PIL.Image`` from a path, bytes or a PIL image; anything else, too big, or not a PNG or JPEG,
    is refused with an :class:`~attnviz.text.InputError` whose message says which."""
    from PIL import Image

    if isinstance(source, Image.Image):
        width, height = source.size
        if width * height > MAX_IMAGE_PIXELS:
            raise InputError("image.too_many_pixels", width=width, height=height, limit=_megapixels(MAX_IMAGE_PIXELS))
        return source.convert("RGB")
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        try:
            size = path.stat().st_size
        except OSError as error:
            raise InputError("image.unreadable", name=path.name) from error
        if size > MAX_IMAGE_BYTES:
            raise InputError("image.too_big", limit=MAX_IMAGE_BYTES // (1024 * 1024))
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise InputError("image.not_image")
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError("image.too_big", limit=MAX_IMAGE_BYTES // (1024 * 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a warning is a refusal here
            picture = Image.open(io.BytesIO(data), formats=FORMATS)  # the header only
            width, height = picture.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InputError(
                    "image.too_many_pixels", width=width, height=height, limit=_megapixels(MAX_IMAGE_PIXELS)
                )
            picture.load()
            return picture.convert("RGB")
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:  # Pillow's guard, in open()
        stated = re.search(r"\((\d+) pixels\)", str(error))
        pixels = f"{int(stated.group(1)):,}" if stated else "?"
        raise InputError("image.bomb", pixels=pixels, limit=_megapixels(MAX_IMAGE_PIXELS)) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # not an image, a truncated one, a broken header
        raise InputError("image.not_image") from error


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}"
