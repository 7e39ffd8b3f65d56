"""Reading every kind of photo sensibly, and writing atomically."""

from __future__ import annotations

import os

import numpy as np
import pytest
from images import gradient, png_bomb_header, save, swapped_primaries_profile
from PIL import Image

from stylefuse_desktop.document import image_io
from stylefuse_desktop.document.image_io import Photo, read_image, write_image
from stylefuse_desktop.errors import BadInputError


def exif_with(orientation: int | None = None, make: str = "StyleFuseCam") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def test_exif_orientation_is_applied(tmp_path):
    pixels = gradient(60, 40)
    path = save(tmp_path / "rotated.jpg", pixels, exif=exif_with(orientation=6), quality=98)
    photo = read_image(path)
    assert photo.size == (40, 60)  # orientation 6: rotate 90 degrees clockwise to display
    upright = np.asarray(Image.fromarray(pixels).transpose(Image.Transpose.ROTATE_270), np.float32) / 255
    assert np.abs(photo.rgb - upright).mean() < 0.03


def test_cmyk_is_converted_to_rgb(tmp_path):
    im = Image.new("CMYK", (30, 20), (0, 255, 255, 0))  # pure red in CMYK
    photo = read_image(save(tmp_path / "cmyk.jpg", im, quality=98))
    assert photo.rgb.shape == (20, 30, 3)
    r, g, b = photo.rgb[10, 15]
    assert r > 0.8 and g < 0.2 and b < 0.2


def test_sixteen_bit_grey_keeps_its_full_range(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 32).reshape(32, 64)).astype(np.uint16)
    path = save(tmp_path / "grey16.png", Image.fromarray(ramp))
    photo = read_image(path)
    assert photo.bit_depth == 16
    assert photo.rgb.shape == (32, 64, 3)
    assert photo.rgb.max() == pytest.approx(1.0, abs=1e-4) and photo.rgb.min() == 0.0
    assert np.allclose(photo.rgb[..., 0], ramp / 65535.0, atol=1e-4)


def test_palette_grey_and_bilevel_images_become_rgb(tmp_path):
    base = Image.fromarray(gradient(32, 24))
    for mode in ("P", "L", "1"):
        photo = read_image(save(tmp_path / f"{mode}.png", base.convert(mode)))
        assert photo.rgb.shape == (24, 32, 3) and photo.rgb.dtype == np.float32
        assert photo.alpha is None


def test_alpha_is_kept_apart(tmp_path):
    rgba = np.dstack([gradient(40, 30), np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))])
    photo = read_image(save(tmp_path / "alpha.png", Image.fromarray(rgba, "RGBA")))
    assert photo.alpha is not None and photo.alpha.shape == (30, 40)
    assert photo.alpha[0, 0] == 0.0 and photo.alpha[0, -1] == 1.0
    out = write_image(tmp_path / "alpha-out.png", photo)
    assert Image.open(out).mode == "RGBA"
    assert np.abs(np.asarray(Image.open(out))[..., 3] / 255 - photo.alpha).max() < 1 / 255 + 1e-6


def test_palette_transparency_becomes_alpha(tmp_path):
    im = Image.new("P", (10, 10), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.info["transparency"] = 0
    im.putpixel((0, 0), 0)
    photo = read_image(save(tmp_path / "pal.png", im, transparency=0))
    assert photo.alpha is not None and photo.alpha[0, 0] == 0 and photo.alpha[5, 5] == 1


def test_icc_profile_is_converted_to_srgb(tmp_path):
    im = Image.new("RGB", (8, 8), (230, 20, 10))
    photo = read_image(save(tmp_path / "icc.png", im, icc_profile=swapped_primaries_profile()))
    r, g, b = photo.rgb[0, 0] * 255
    assert b > 200 and r < 40  # red in a profile whose red primary is sRGB's blue


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_formats_round_trip_by_extension(tmp_path, ext):
    photo = Photo(rgb=gradient(50, 30).astype(np.float32) / 255)
    path = write_image(tmp_path / f"out{ext}", photo)
    back = read_image(path)
    assert back.size == (50, 30)
    assert np.abs(back.rgb - photo.rgb).mean() < (0.04 if ext in (".jpg", ".webp") else 1e-6)
    assert Image.open(path).format == image_io.WRITE_FORMATS[ext]


def test_jpeg_keeps_exif_but_not_orientation(tmp_path):
    path = save(tmp_path / "in.jpg", gradient(40, 30), exif=exif_with(orientation=3, make="Lumix"))
    photo = read_image(path)
    out = write_image(tmp_path / "out.jpg", photo, quality=95)
    exif = Image.open(out).getexif()
    assert exif[0x010F] == "Lumix"
    assert exif.get(0x0112, 1) == 1


def test_tiny_and_odd_sizes_read(tmp_path):
    for w, h in [(40, 40), (1, 1), (97, 13)]:
        assert read_image(save(tmp_path / f"s{w}x{h}.png", gradient(w, h))).size == (w, h)


def test_pixel_limit_refuses_before_decoding(tmp_path, monkeypatch):
    path = save(tmp_path / "big.png", gradient(200, 100))
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    with pytest.raises(BadInputError, match="megapixels, over the limit"):
        read_image(path, max_pixels=10_000)
    assert not decoded


def test_decompression_bomb_is_refused(tmp_path):
    path = png_bomb_header(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(BadInputError, match="10000 megapixels|over the limit"):
        read_image(path)


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"this is a text file, not a photo", "not an image"),
])
def test_non_images_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=message):
        read_image(path)


def test_truncated_file_is_reported(tmp_path):
    path = save(tmp_path / "whole.jpg", gradient(300, 200), quality=95)
    data = open(path, "rb").read()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match="truncated or damaged"):
        read_image(cut)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(BadInputError, match="is a folder"):
        read_image(tmp_path)


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    """A disk that fills mid-write (the JPEG case once tore files): old file kept, no temporary left."""
    from stylefuse_desktop.document import atomic

    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous contents")
    real_write = os.write

    def full_disk_write(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full_disk_write)
    with pytest.raises(BadInputError, match="No space left"):
        write_image(target, Photo(rgb=np.zeros((4, 4, 3), np.float32)))
    assert target.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_output_may_never_be_the_input(tmp_path):
    path = save(tmp_path / "photo.png", gradient(20, 20))
    before = open(path, "rb").read()
    with pytest.raises(BadInputError, match="overwrite the input"):
        write_image(path, read_image(path), protect=(path,))
    assert open(path, "rb").read() == before


def test_unknown_output_extension_is_refused(tmp_path):
    with pytest.raises(BadInputError, match="cannot write '.xyz'"):
        write_image(tmp_path / "out.xyz", Photo(rgb=np.zeros((4, 4, 3), np.float32)))


def test_written_files_get_ordinary_permissions(tmp_path):
    path = write_image(tmp_path / "shared.png", Photo(rgb=np.zeros((4, 4, 3), np.float32)))
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_damaged_exif_does_not_cost_the_photo(tmp_path):
    path = save(tmp_path / "odd.jpg", gradient(30, 20), exif=b"Exif\x00\x00garbage that is no TIFF")
    photo = read_image(path)
    assert photo.size == (30, 20) and photo.exif is None
