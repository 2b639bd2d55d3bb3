"""Turning whatever a visitor sends into an RGB PIL image, refusing bombs before decoding."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .errors import InvalidInput, about
from .messages import say

MAX_PIXELS = 40_000_000  # refuse above this before decoding; a 40 MP photo is a big camera's
MAX_SIDE = 2048          # larger images are downscaled to this (no model here reads more)


def check_image_file(path: str | Path) -> None:
    """Refuse a file that is not an image, or too big, reading only its header."""
    with about("image"):
        _check_image_file(path)


def _check_image_file(path: str | Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except Image.DecompressionBombError as e:
        raise InvalidInput(say("image.too_large_to_decode", limit=MAX_PIXELS // 1_000_000)) from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InvalidInput(say("image.unreadable")) from e
    if width * height > MAX_PIXELS:
        raise InvalidInput(say("image.too_large", width=width, height=height, limit=MAX_PIXELS // 1_000_000))


def open_image(source: Any) -> Any:
    """A path, bytes, numpy array or PIL image -> an RGB PIL image (first frame, EXIF-upright)."""
    with about("image"):
        return _open_image(source)


def _open_image(source: Any) -> Any:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if source is None:
        raise InvalidInput(say("image.missing"))
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (str, Path, bytes, bytearray)):
        data = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray)) else source
        try:
            image = Image.open(data)
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise InvalidInput(say("image.unreadable")) from e
        except Image.DecompressionBombError as e:
            raise InvalidInput(say("image.too_large_to_decode", limit=MAX_PIXELS // 1_000_000)) from e
    elif hasattr(source, "__array_interface__"):
        try:
            image = Image.fromarray(source)
        except (TypeError, ValueError) as e:
            raise InvalidInput(say("image.bad_array")) from e
    else:
        raise InvalidInput(say("image.wrong_type", kind=type(source).__name__))
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InvalidInput(say("image.too_large", width=width, height=height, limit=MAX_PIXELS // 1_000_000))
    if width < 1 or height < 1:
        raise InvalidInput(say("image.no_pixels"))
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated GIF / WebP: the first frame
        image.load()
        image = ImageOps.exif_transpose(image)
        return to_rgb(image)
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidInput(say("image.corrupt")) from e


def to_rgb(image: Any) -> Any:
    """Any PIL mode -> RGB: transparency over white, 16-bit and float scaled to 8 bits."""
    from PIL import Image

    if image.mode == "RGB":
        rgb = image
    elif image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(image, dtype=np.float64)
        low, high = float(arr.min()), float(arr.max())
        arr = (arr - low) / (high - low) * 255 if high > low else np.zeros_like(arr)
        rgb = Image.fromarray(arr.astype("uint8"), "L").convert("RGB")
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(background, rgba).convert("RGB")
    else:
        rgb = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    if max(rgb.size) > MAX_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    return rgb
