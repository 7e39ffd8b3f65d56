"""Reading and writing photos (Pillow + numpy; no torch, no Qt).

A photo is read into float32 sRGB pixels in [0, 1] with EXIF orientation applied, the colour profile
converted to sRGB and alpha kept apart. Oversized images (decompression bombs included) are refused
from the header, before any pixel is decoded. Writes are atomic and never replace the input.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms, ImageOps

from ..errors import BadInputError
from .atomic import atomic_write_bytes
from .png_writer import encode_png
from .user_files import (
    DEFAULT_MAX_PIXELS,
    ImageLimits,
    check_inflation,
    is_png16,
    open_image,
    png16_pixels,
    printable,
    readable_file,
    same_file,
)

log = logging.getLogger(__name__)

WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}
READ_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".tga", ".ppm", ".pgm", ".pbm", ".jfif"}
)
_ORIENTATION_TAG = 0x0112
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Photo:
    """Pixels and what travels with them."""

    rgb: np.ndarray  # float32 [H, W, 3] sRGB in [0, 1] (uint8 where 8-bit pixels were asked for)
    alpha: np.ndarray | None = None  # float32 [H, W] in [0, 1], or None when opaque
    exif: bytes | None = None  # EXIF of the source with orientation reset (pixels are already upright)
    bit_depth: int = 8  # 8 or 16: what the source carried per channel
    source_format: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def with_rgb(self, rgb: np.ndarray) -> Photo:
        return replace(self, rgb=rgb)


MAX_EXIF_BYTES = 60_000  # a JPEG APP1 segment holds at most 65533 bytes; larger EXIF is dropped on writing


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS, eight_bit: bool = False) -> Photo:
    """Read an image through the user-file gate. Raises BadInputError with a clear message for anything unusable.

    ``eight_bit`` keeps an 8-bit source's pixels as uint8 (a quarter of the memory; a GPU render converts
    them on the device); sources of more bits still come as float32.
    """
    path = readable_file(path, "image")
    origin = printable(path)
    limits = ImageLimits(max_pixels=max_pixels)
    with open_image(path, limits, origin) as im:
        try:
            if is_png16(im):
                check_inflation(im.size[0] * im.size[1] * len(im.mode) * 2, path.stat().st_size, limits, origin)
                exif = im.getexif()
                return _png16_photo(png16_pixels(path), exif.tobytes() if len(exif) else None)
            im.seek(0)
            im.load()
            photo = _to_photo(im, eight_bit)
        except BadInputError:
            raise
        except MemoryError:
            raise BadInputError(f"{origin}: too large to decode in the memory available") from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError) as exc:
            if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
                raise BadInputError(f"{origin}: the file is truncated or damaged") from None
            raise BadInputError(f"{origin}: cannot be read ({type(exc).__name__})") from None
    if photo.rgb.dtype != np.uint8 and not np.isfinite(photo.rgb).all():
        raise BadInputError(f"{origin}: the image holds invalid numbers (NaN or infinity)")
    return photo


def _png16_photo(pixels: np.ndarray, exif: bytes | None) -> Photo:
    """A 16-bit RGB(A) PNG at full depth."""
    rgb = pixels[..., :3].astype(np.float32)
    rgb *= np.float32(1 / 65535.0)
    alpha = None
    if pixels.shape[2] == 4 and pixels[..., 3].min() < 65535:
        alpha = pixels[..., 3].astype(np.float32) / np.float32(65535.0)
    return Photo(rgb=rgb, alpha=alpha, exif=exif, bit_depth=16, source_format="PNG")


def _icc_to_srgb(im: Image.Image) -> Image.Image:
    """Convert pixels from the embedded colour profile to sRGB (alpha is carried across unchanged)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
        base = im.convert(im.mode[:-1]) if alpha is not None else im
        converted = ImageCms.profileToProfile(base, source, _SRGB, outputMode="RGB")
        if converted is None:  # only an in-place conversion returns None
            return im
        if alpha is not None:
            converted.putalpha(alpha)
        return converted
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        log.warning("colour profile not applied (%s); reading the pixels as sRGB", exc)
        return im


def _high_bit_array(im: Image.Image) -> np.ndarray:
    """Single-channel 16/32-bit integer or float images -> float32 in [0, 1], without clipping."""
    arr = np.asarray(im)
    if im.mode == "F":
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            return arr  # refused by read_image with a clear message
        top = float(arr.max()) if arr.size else 1.0
        return np.clip(arr / (top if top > 1.0 else 1.0), 0.0, 1.0)
    arr = arr.astype(np.float64)
    top = 65535.0 if im.mode.startswith("I;16") or arr.max() <= 65535 else float(arr.max())
    return np.clip(arr / top, 0.0, 1.0).astype(np.float32)


def _to_photo(im: Image.Image, eight_bit: bool = False) -> Photo:
    source_format = im.format or ""
    bit_depth = 16 if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F") else 8
    if bit_depth == 8 and im.info.get("bits", 8) == 16:
        bit_depth = 16

    try:
        exif = im.getexif()
        im = ImageOps.exif_transpose(im)  # upright pixels; also resets the orientation tag on the copy
        if _ORIENTATION_TAG in exif:
            del exif[_ORIENTATION_TAG]
        exif_bytes = exif.tobytes() if len(exif) else None
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, TypeError) as exc:
        # damaged EXIF must not cost the user their photo: keep the pixels as stored, drop the metadata
        log.warning("ignoring unreadable EXIF data (%s)", exc)
        exif_bytes = None

    alpha: np.ndarray | None = None
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = _high_bit_array(im)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        return Photo(rgb=rgb, alpha=None, exif=exif_bytes, bit_depth=16, source_format=source_format)

    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("RGBa", "La"):
        im = im.convert("RGBA")
    elif im.mode in ("YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif im.mode == "RGBX":
        im = im.convert("RGB")
    elif im.mode == "L" and "transparency" in im.info:
        im = im.convert("LA")

    im = _icc_to_srgb(im)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode in ("LA", "RGBA"):
        alpha = np.asarray(im.getchannel("A"), np.float32) / 255.0
        im = im.convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    if eight_bit and bit_depth == 8:
        rgb = np.array(im)
    else:
        rgb = np.asarray(im, np.float32)
        rgb *= np.float32(1 / 255.0)  # in place: a 24 MP photo is 288 MB as float32, no second copy
    if alpha is not None and alpha.min() >= 1.0:
        alpha = None
    return Photo(rgb=rgb, alpha=alpha, exif=exif_bytes, bit_depth=bit_depth, source_format=source_format)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] -> uint8; pixels already 8-bit (a GPU render converts on the device) pass."""
    if x.dtype == np.uint8:
        return x
    # band by band: one small float temporary instead of three full-size ones (1.7 GB at 48 MP)
    out = np.empty(x.shape, np.uint8)
    rows = max(1, (1 << 20) // max(1, x[:1].size))
    for start in range(0, x.shape[0], rows):
        band = np.clip(x[start : start + rows], 0.0, 1.0)
        band *= 255.0
        band += 0.5
        out[start : start + rows] = band  # the cast truncates, as astype does
    return out


def to_pil(photo: Photo, flatten_onto: tuple[float, float, float] | None = None) -> Image.Image:
    rgb = photo.rgb
    if photo.alpha is not None and flatten_onto is not None:
        if rgb.dtype == np.uint8:
            rgb = rgb.astype(np.float32) / 255.0
        a = photo.alpha[..., None]
        rgb = rgb * a + np.asarray(flatten_onto, np.float32) * (1.0 - a)
        return Image.fromarray(to_uint8(rgb), "RGB")
    im = Image.fromarray(to_uint8(rgb), "RGB")
    if photo.alpha is not None:
        im.putalpha(Image.fromarray(to_uint8(photo.alpha), "L"))
    return im


def output_format(path: str | os.PathLike[str]) -> str:
    ext = Path(path).suffix.lower()
    if ext not in WRITE_FORMATS:
        if Path(path).is_dir():
            raise BadInputError(f"{printable(path)}: is a folder; give an output file name such as "
                                f"{printable(Path(path) / 'result.png')}")
        raise BadInputError(
            f"{printable(path)}: cannot write '{printable(ext) or 'no extension'}' files; use one of "
            f"{', '.join(sorted(WRITE_FORMATS))}"
        )
    return WRITE_FORMATS[ext]


def check_quality(quality: int) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise BadInputError(f"quality {quality}: expected a whole number from 1 to 100")
    return int(quality)


def check_finite(rgb: np.ndarray, what: str = "the result") -> None:
    """Refuse to write NaN or infinity (they would become a black image without a word)."""
    if rgb.dtype == np.uint8:  # 8-bit pixels (a GPU render's) hold no such values; skip a full-size mask
        return
    if not np.isfinite(rgb).all():
        raise BadInputError(f"{what} holds invalid numbers (NaN or infinity); nothing was written. A style, weight "
                            "or input holds values out of range")


def encode_image(photo: Photo, fmt: str, quality: int = 95, keep_exif: bool = True) -> bytes:
    """The whole file in memory, so a failed encoder never leaves a partial file anywhere."""
    quality = check_quality(quality)
    if fmt == "PNG":
        # our own writer: Up-filtered rows deflated on several cores (Pillow's takes ~2x longer on one)
        exif = photo.exif if keep_exif and photo.exif and len(photo.exif) <= MAX_EXIF_BYTES else None
        rgb = to_uint8(photo.rgb)
        pixels = rgb if photo.alpha is None else np.dstack([rgb, to_uint8(photo.alpha)])
        return encode_png(pixels, level=3, exif=exif)
    im = to_pil(photo, flatten_onto=(1.0, 1.0, 1.0) if fmt == "JPEG" else None)
    options: dict[str, object] = {}  # Pillow's save options
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    elif fmt == "WEBP":
        options.update(quality=quality, method=4)
    elif fmt == "PNG":
        # level 3 writes ~3x faster than Pillow's default 6 for files ~10% larger: a 24 MP export
        # takes seconds instead of the better part of ten
        options.update(compress_level=3)
    elif fmt == "TIFF":
        options.update(compression="tiff_lzw")
    if keep_exif and photo.exif and len(photo.exif) <= MAX_EXIF_BYTES:
        options["exif"] = photo.exif
    elif keep_exif and photo.exif:
        log.info("EXIF block of %d bytes dropped: too large to carry", len(photo.exif))
    buffer = io.BytesIO()
    try:
        im.save(buffer, format=fmt, **options)
    except OSError:
        if not options.get("optimize"):
            raise
        # Pillow sizes the optimising JPEG encoder's buffer below what noise at quality 100 needs
        buffer = io.BytesIO()
        im.save(buffer, format=fmt, **{**options, "optimize": False})
    return buffer.getvalue()


def write_image(
    path: str | os.PathLike[str],
    photo: Photo,
    quality: int = 95,
    keep_exif: bool = True,
    protect: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Write ``photo`` in the format its extension names, atomically.

    ``protect`` lists files that must never be overwritten (the inputs of a render). JPEG has no alpha,
    so a transparent photo is flattened onto white there.
    """
    path = Path(path)
    shown = printable(path)
    fmt = output_format(path)
    for other in protect:
        if same_file(path, other):
            raise BadInputError(f"{shown}: the output would overwrite the input; choose another output name")
    if path.is_dir():
        raise BadInputError(f"{shown}: is a folder; give an output file name")
    if not path.parent.exists():
        raise BadInputError(f"{shown}: the folder {printable(path.parent)} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise BadInputError(f"{shown}: the folder {printable(path.parent)} is not writable")
    check_finite(photo.rgb, shown)
    try:
        data = encode_image(photo, fmt, quality, keep_exif)
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{shown}: cannot be encoded as {fmt} ({type(exc).__name__})") from None
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise BadInputError(f"{shown}: cannot be written ({exc.strerror or exc}); the old file, if any, "
                            "is untouched") from None
    return path


def is_image_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in READ_EXTENSIONS


def resize_array(x: NDArray[np.float32], size: tuple[int, int],
                 resample: Image.Resampling = Image.Resampling.LANCZOS) -> NDArray[np.float32]:
    """Resize a float32 [H, W] or [H, W, C] array to (width, height) channel by channel, without 8-bit rounding."""
    if x.shape[1] == size[0] and x.shape[0] == size[1]:
        return x
    if x.ndim == 2:
        return np.asarray(Image.fromarray(x.astype(np.float32), "F").resize(size, resample), np.float32)
    channels = [resize_array(x[..., c], size, resample) for c in range(x.shape[2])]
    resized: NDArray[np.float32] = np.clip(np.stack(channels, axis=2), 0.0, 1.0)
    return resized


def fit_longest_side(photo: Photo, longest: int) -> Photo:
    """Shrink so the longer side is at most ``longest`` pixels (never enlarges)."""
    w, h = photo.size
    if max(w, h) <= longest:
        return photo
    ratio = longest / max(w, h)
    size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
    alpha = None if photo.alpha is None else np.clip(resize_array(photo.alpha, size), 0.0, 1.0)
    return replace(photo, rgb=resize_array(photo.rgb, size), alpha=alpha)


def read_mask(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A grey weight map in [0, 1] from any image: its luminance, times its alpha if it has one."""
    photo = read_image(path, max_pixels=max_pixels)
    grey = photo.rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(grey * (photo.alpha if photo.alpha is not None else 1.0), 0.0, 1.0).astype(np.float32)
