"""models/images.py: whatever a visitor uploads becomes an upright RGB image, or one plain sentence."""
from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from models import InvalidInput
from models.images import MAX_PIXELS, MAX_SIDE, check_image_file, open_image


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but carries no pixel data: costs nothing unless decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def assert_rgb(image, size):
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert image.size == size


def test_rgba_transparency_becomes_white():
    image = Image.new("RGBA", (4, 3), (255, 0, 0, 0))
    image.putpixel((0, 0), (0, 0, 255, 255))
    out = open_image(encode(image))
    assert_rgb(out, (4, 3))
    assert out.getpixel((1, 1)) == (255, 255, 255)
    assert out.getpixel((0, 0)) == (0, 0, 255)


def test_la_and_l_and_1_modes():
    la = Image.new("LA", (5, 5), (0, 0))
    la.putpixel((2, 2), (10, 255))
    out = open_image(encode(la))
    assert_rgb(out, (5, 5))
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((2, 2)) == (10, 10, 10)
    out = open_image(Image.new("L", (7, 2), 77))
    assert_rgb(out, (7, 2))
    assert out.getpixel((0, 0)) == (77, 77, 77)
    one = Image.new("1", (3, 3), 1)
    assert open_image(encode(one)).getpixel((1, 1)) == (255, 255, 255)
    assert open_image(one).getpixel((1, 1)) == (255, 255, 255)


def test_palette_with_transparency():
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 255, 0] + [255, 0, 0] + [0] * (254 * 3))
    image.putpixel((3, 3), 1)
    image.info["transparency"] = 0
    data = encode(image, transparency=0)
    out = open_image(data)
    assert_rgb(out, (4, 4))
    assert out.getpixel((0, 0)) == (255, 255, 255)  # index 0 is transparent: white, not green
    assert out.getpixel((3, 3)) == (255, 0, 0)
    gif = open_image(encode(image, "GIF", transparency=0))
    assert gif.getpixel((0, 0)) == (255, 255, 255) and gif.getpixel((3, 3)) == (255, 0, 0)


def test_palette_without_transparency():
    image = Image.new("P", (2, 2), 1)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * (254 * 3))
    assert open_image(encode(image)).getpixel((0, 0)) == (10, 20, 30)


def test_cmyk_jpeg():
    image = Image.new("CMYK", (8, 6), (0, 255, 255, 0))  # red in CMYK
    out = open_image(encode(image, "JPEG", quality=95))
    assert_rgb(out, (8, 6))
    r, g, b = out.getpixel((4, 3))
    assert r > 200 and g < 60 and b < 60


def test_16_bit_grayscale_is_scaled_to_8_bits():
    arr = np.zeros((4, 6), dtype=np.uint16)
    arr[:, 3:] = 60000
    image = Image.fromarray(arr)
    assert image.mode.startswith("I")
    for source in (image, encode(image)):
        out = open_image(source)
        assert_rgb(out, (6, 4))
        assert out.getpixel((0, 0)) == (0, 0, 0)
        assert out.getpixel((5, 3)) == (255, 255, 255)
    flat = open_image(Image.fromarray(np.full((3, 3), 1234, dtype=np.uint16)))
    assert flat.getpixel((1, 1)) == (0, 0, 0)  # a flat 16-bit image must not divide by zero


def test_float_and_numpy_inputs():
    out = open_image(np.zeros((5, 7, 3), dtype=np.uint8))
    assert_rgb(out, (7, 5))
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    assert_rgb(open_image(rgba), (3, 2))
    out = open_image(Image.fromarray(np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)))
    assert_rgb(out, (4, 3))


def test_animated_gif_gives_the_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = open_image(data)
    assert_rgb(out, (10, 10))
    assert out.getpixel((5, 5)) == (255, 0, 0)
    opened = Image.open(io.BytesIO(data))
    opened.seek(2)  # a PIL image left on a later frame still gives the first one
    assert open_image(opened).getpixel((5, 5)) == (255, 0, 0)


def test_exif_rotated_jpeg_is_made_upright():
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # a white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    data = encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    out = open_image(data)
    assert_rgb(out, (20, 40))
    assert sum(out.getpixel((10, 2))) > 600  # the left band is now at the top
    assert sum(out.getpixel((10, 37))) < 100


def test_one_pixel_image():
    out = open_image(encode(Image.new("RGB", (1, 1), (1, 2, 3))))
    assert_rgb(out, (1, 1))
    assert out.getpixel((0, 0)) == (1, 2, 3)


def test_paths_are_read(tmp_path):
    path = tmp_path / "x.webp"
    Image.new("RGB", (9, 9), (0, 128, 0)).save(path)
    assert_rgb(open_image(str(path)), (9, 9))
    assert_rgb(open_image(path), (9, 9))


@pytest.mark.parametrize("data", [b"not an image at all", b"", b"\x89PNG\r\n\x1a\n", "/no/such/file.png", 3, {"a": 1}],
                         ids=["text", "empty", "png-magic-only", "missing-path", "int", "dict"])
def test_not_an_image_is_refused_with_a_sentence(data):
    with pytest.raises(InvalidInput) as info:
        open_image(data)
    assert str(info.value).endswith(".")


def test_none_is_refused():
    with pytest.raises(InvalidInput, match="upload"):
        open_image(None)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_is_refused(fmt):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = encode(image, fmt)
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        open_image(data[: len(data) // 2])


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [10_000, 20_000])
def test_decompression_bomb_is_refused_before_decoding(side):
    data = png_header_only(side, side)
    assert len(data) < 100
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="megapixels"):
        open_image(data)
    assert time.perf_counter() - start < 5
    with pytest.raises(InvalidInput, match="megapixels"):
        check_image_file(io.BytesIO(data))


def test_a_real_bomb_that_compresses_tiny_is_refused():
    width, height = 8000, 6000  # 48 MP of zeros: a few dozen kilobytes as PNG
    assert width * height > MAX_PIXELS
    row = b"\x00" + bytes(width)  # filter byte + one row of black pixels
    packer = zlib.compressobj(1)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    assert len(data) < 500_000
    assert Image.open(io.BytesIO(data)).size == (width, height)
    with pytest.raises(InvalidInput, match="8,000 x 6,000"):
        open_image(data)


def test_huge_but_allowed_image_is_downscaled():
    image = Image.new("L", (6000, 3000), 128)
    assert 6000 * 3000 <= MAX_PIXELS
    out = open_image(encode(image, compress_level=1))
    assert_rgb(out, (MAX_SIDE, MAX_SIDE // 2))
    tall = open_image(Image.new("RGB", (100, 3000)))
    assert max(tall.size) == MAX_SIDE and tall.size[0] < 100


def test_lazily_opened_pil_image_over_the_limit_is_refused():
    image = Image.open(io.BytesIO(png_header_only(9000, 9000)))  # PIL reads only the header here
    with pytest.raises(InvalidInput, match="9,000 x 9,000"):
        open_image(image)


def test_open_image_does_not_change_the_callers_image():
    image = Image.new("RGBA", (3000, 100), (1, 2, 3, 255))
    out = open_image(image)
    assert image.mode == "RGBA" and image.size == (3000, 100)
    assert_rgb(out, (MAX_SIDE, out.size[1]))
    assert out.size[1] in (68, 69)


def test_check_image_file_reads_only_the_header(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (30, 20)).save(good)
    assert check_image_file(good) is None
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"<html>not an image</html>")
    with pytest.raises(InvalidInput, match="not an image"):
        check_image_file(bad)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(9000, 9000))
    with pytest.raises(InvalidInput, match="9,000 x 9,000"):
        check_image_file(bomb)
