"""Our parallel PNG writer: every strip layout decodes to the same pixels, with a valid zlib stream
(Adler-32 included), alpha and EXIF carried."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from stylefuse_desktop.document import png_writer
from stylefuse_desktop.document.image_io import Photo, read_image, write_image


def idat_stream(data: bytes) -> bytes:
    """The concatenated IDAT payloads of a PNG file."""
    pos, out = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        payload = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + payload)
        if kind == b"IDAT":
            out.append(payload)
        pos += 12 + length
    return b"".join(out)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 7, 4), (129, 5, 3), (700, 333, 3), (1031, 64, 4)])
def test_pixels_come_back_exactly_for_any_strip_layout(shape):
    pixels = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    data = png_writer.encode_png(pixels)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)
    # a strict inflate: the strips join into one zlib stream whose Adler-32 is right
    raw = zlib.decompress(idat_stream(data))
    assert len(raw) == shape[0] * (shape[1] * shape[2] + 1)


def test_adler32_of_joined_parts():
    a, b = b"stylefuse" * 999, bytes(range(256)) * 300
    assert png_writer.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    assert png_writer.adler32_combine(1, zlib.adler32(b), len(b)) == zlib.adler32(b)


def test_a_photo_compresses_about_as_well_as_with_pillow(photo_rgb):
    from stylefuse_desktop.document.image_io import to_uint8

    pixels = to_uint8(photo_rgb)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=3)
    assert len(png_writer.encode_png(pixels)) <= len(buffer.getvalue()) * 1.05


def test_write_image_png_keeps_alpha_and_exif(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "StyleFuse camera"  # Make
    rgb = np.random.default_rng(1).random((40, 30, 3)).astype(np.float32)
    alpha = np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(40, 30)
    target = write_image(tmp_path / "out.png", Photo(rgb=rgb, alpha=alpha, exif=exif.tobytes()))
    back = read_image(target)
    assert np.abs(back.rgb - rgb).max() <= 0.5 / 255 + 1e-6
    assert np.abs(back.alpha - alpha).max() <= 0.5 / 255 + 1e-6
    with Image.open(target) as im:
        assert im.getexif()[0x010F] == "StyleFuse camera"


def test_bad_pixels_are_refused():
    with pytest.raises(ValueError):
        png_writer.encode_png(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        png_writer.encode_png(np.zeros((4, 4, 2), np.uint8))


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 9), (3000, 700, 3)])
def test_to_uint8_in_bands_rounds_as_the_plain_formula(shape):
    from stylefuse_desktop.document.image_io import to_uint8

    x = np.random.default_rng(len(shape)).uniform(-0.2, 1.2, shape).astype(np.float32)
    assert np.array_equal(to_uint8(x), (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
