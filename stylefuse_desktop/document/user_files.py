"""The one gate for files a user gives us: images and zips (styles, projects). No Qt, no torch.

The limits are data (``ImageLimits``, ``ZipLimits``) so every caller uses the same ones:
- images open only in the formats listed here, given to Pillow explicitly: never PostScript/EPS, which
  Pillow would hand to Ghostscript to *run*;
- the pixel count is checked from the header before anything is decoded, and so is the decoded size
  of a 16-bit PNG (which we decode ourselves at full depth);
- zip members are read in bounded chunks, only with the methods we write (stored, deflate), never
  encrypted; JSON is checked for size and nesting depth before it is parsed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from typing import IO, Any

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from ..errors import BadInputError

# Pillow plugin names we open (the JPEG plugin also returns the MPO files many phones write).
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "TGA", "PPM")
DEFAULT_MAX_PIXELS = 150_000_000
MAX_NAME_CHARS = 255  # one path component, as on every common file system
MAX_SHOWN_CHARS = 120

# Our own pixel limit (checked from the header) replaces Pillow's global bomb guard, whose fixed
# threshold would otherwise refuse images that the user's configured limit allows.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    # PNG text chunks (iTXt/zTXt inflate): one chunk, and all of them together
    max_text_chunk: int = 1 << 20
    max_text_total: int = 8 << 20
    # bytes a decoded image may take, whatever its depth (16-bit RGBA is 8 bytes a pixel)
    max_decoded_bytes: int = 2 << 30
    # a decoded 16-bit PNG larger than this many times its compressed size is a bomb, not a photo
    max_inflate_ratio: int = 1000
    inflate_ratio_floor: int = 256 << 20  # below this decoded size the ratio is not checked


@dataclass(frozen=True)
class ZipLimits:
    methods: frozenset[int] = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
    max_members: int = 10_000
    max_json_bytes: int = 16 << 20
    max_json_depth: int = 64
    chunk: int = 1 << 20


def printable(text: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """A name from a file, safe to show: control characters (escape sequences, newlines, NUL) removed,
    cut to ``limit`` characters."""
    cleaned = "".join(c for c in str(text) if unicodedata.category(c)[0] != "C" or c == " ")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def one_line(message: object, limit: int = 400) -> str:
    """A message for a terminal or a status bar: one line, no control characters."""
    text = re.sub(r"\s*[\r\n]+\s*", "; ", str(message).strip())
    return printable(text, limit)


def check_name(name: str, what: str = "name") -> str:
    """A name given inside a file (a style's, a layer's): refused with NUL, cut when over-long."""
    if "\x00" in name:
        raise BadInputError(f"the {what} '{printable(name)}' contains a NUL character")
    return printable(name, MAX_NAME_CHARS).strip()


def user_path(path: str | os.PathLike[str]) -> Path:
    """A path the user gave, checked: no NUL, no over-long component, symlinks resolvable (no loops)."""
    text = os.fspath(path)
    shown = printable(text)
    if "\x00" in text:
        raise BadInputError(f"{shown}: a file name cannot contain a NUL character")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_CHARS for part in Path(text).parts):
        raise BadInputError(f"{shown}: a part of this path is longer than {MAX_NAME_CHARS} bytes")
    p = Path(text).expanduser()
    try:
        p.resolve(strict=False)
        os.stat(p)
    except RuntimeError:  # Path.resolve on a symlink loop (older Pythons)
        raise BadInputError(f"{shown}: a symbolic link loop") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BadInputError(f"{shown}: a symbolic link loop") from None
        if isinstance(exc, FileNotFoundError):
            return p
        raise BadInputError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    return p


def path_key(path: Path) -> str:
    """One spelling for every way of naming a file: absolute, symlinks resolved, case folded where
    the file system folds it."""
    try:
        resolved = Path(path).expanduser().resolve(strict=False)
    except (OSError, RuntimeError, ValueError):
        resolved = Path(os.path.abspath(path))
    return os.path.normcase(str(resolved))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file (or would, once written)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return path_key(a) == path_key(b)


def readable_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """An existing, non-empty regular file the user gave (after ``user_path``)."""
    p = user_path(path)
    shown = printable(p)
    if not p.exists():
        raise BadInputError(f"{shown}: no such file")
    if p.is_dir():
        raise BadInputError(f"{shown}: is a folder, not a {what}")
    if not p.is_file():
        raise BadInputError(f"{shown}: not a regular file")
    if p.stat().st_size == 0:
        raise BadInputError(f"{shown}: the file is empty")
    if not os.access(p, os.R_OK):
        raise BadInputError(f"{shown}: permission denied")
    return p


# -- images ------------------------------------------------------------------------------------------

def _apply_text_limits(limits: ImageLimits) -> None:
    # Pillow keeps these as module settings; they are ours to set, and every image opens through here.
    PngImagePlugin.MAX_TEXT_CHUNK = limits.max_text_chunk
    PngImagePlugin.MAX_TEXT_MEMORY = limits.max_text_total


def _describe_pixels(width: int, height: int) -> str:
    return f"{width}x{height} is {width * height / 1e6:.0f} megapixels"


class PixelLimitError(BadInputError):
    """An image over the pixel limit (the CLI says which option raises it)."""


def check_pixels(width: int, height: int, limits: ImageLimits, origin: str, bytes_per_pixel: int = 4) -> None:
    if width <= 0 or height <= 0:
        raise BadInputError(f"{origin}: the image has no pixels")
    if width * height > limits.max_pixels:
        raise PixelLimitError(f"{origin}: {_describe_pixels(width, height)}, over the limit of "
                              f"{limits.max_pixels / 1e6:.0f} MP")
    if width * height * bytes_per_pixel > limits.max_decoded_bytes:
        raise BadInputError(f"{origin}: {_describe_pixels(width, height)}, too large to decode "
                            f"({width * height * bytes_per_pixel / 2**30:.1f} GiB)")


@contextlib.contextmanager
def open_image(source: str | os.PathLike[str] | bytes, limits: ImageLimits = ImageLimits(),
               origin: str | None = None) -> Iterator[ImageFile.ImageFile]:
    """A Pillow image, header checked, pixels not yet decoded. Only ``IMAGE_FORMATS`` open."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        fp: Path | IO[bytes] = io.BytesIO(source)
        origin = origin or "image"
    else:
        path = readable_file(source, "image")
        fp = path
        origin = origin or printable(path)
    _apply_text_limits(limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings become our one-line errors or nothing
            with Image.open(fp, formats=IMAGE_FORMATS) as im:
                check_pixels(*im.size, limits, origin, bytes_per_pixel=_bytes_per_pixel(im))
                yield im
    except BadInputError:
        raise
    except UnidentifiedImageError:
        raise BadInputError(f"{origin}: not an image file (or a format that cannot be read)") from None
    except Image.DecompressionBombError:
        raise BadInputError(f"{origin}: refused as a decompression bomb") from None
    except MemoryError:
        raise BadInputError(f"{origin}: too large to decode in the memory available") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError, struct_error) as exc:
        text = str(exc).lower()
        if "truncated" in text or isinstance(exc, EOFError):
            raise BadInputError(f"{origin}: the file is truncated or damaged") from None
        if "max_text" in text or "text chunk" in text or "too much memory" in text:
            raise BadInputError(f"{origin}: a metadata block is implausibly large; the file is damaged") from None
        raise BadInputError(f"{origin}: cannot be read ({one_line(exc, 120)})") from None


def _bytes_per_pixel(im: ImageFile.ImageFile) -> int:
    if is_png16(im):
        return 8
    return {"F": 4, "I": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "RGBA": 4, "RGB": 4, "CMYK": 4}.get(im.mode, 4)


def is_png16(im: ImageFile.ImageFile) -> bool:
    """A 16-bit RGB or RGBA PNG (Pillow alone would read it at 8 bits)."""
    return im.format == "PNG" and bool(im.tile) and im.tile[0].args in ("RGB;16B", "RGBA;16B")


def check_inflation(decoded_bytes: int, stored_bytes: int, limits: ImageLimits, origin: str) -> None:
    """Refuse a small file that would inflate to a huge image (checked before decoding)."""
    if decoded_bytes > limits.inflate_ratio_floor and decoded_bytes > limits.max_inflate_ratio * max(stored_bytes, 1):
        raise BadInputError(f"{origin}: {stored_bytes / 2**20:.1f} MB would inflate to "
                            f"{decoded_bytes / 2**30:.1f} GiB; refused as a decompression bomb")


def png16_pixels(source: str | os.PathLike[str] | bytes) -> np.ndarray:
    """uint16 [H, W, 3|4] of a 16-bit RGB(A) PNG whose header ``open_image`` has checked.

    Pillow's decoder undoes the PNG row filters byte lane by byte lane, so decoding the same rows
    twice, once keeping each sample's high byte and once its low byte, gives the exact 16-bit values
    without a PNG decoder of our own (interlacing and every filter included).
    """
    planes = []
    for byte in ("B", "L"):  # big-endian samples read as ";16B" keep the high byte, as ";16L" the low one
        fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(fp, formats=("PNG",)) as im:
                tile = im.tile[0]
                rawmode = str(tile.args)  # a PNG tile's args: its raw mode, "RGB;16B" or "RGBA;16B"
                im.tile = [tile._replace(args=rawmode[:-1] + byte)]
                im.load()
                planes.append(np.asarray(im))
    out = planes[0].astype(np.uint16)
    out <<= 8
    out |= planes[1]
    return out


# -- zips --------------------------------------------------------------------------------------------

class UserZip:
    """A zip the user gave, read member by member within limits. Members are cached by name, so
    several layers sharing one member cost its bytes once."""

    def __init__(self, source: str | os.PathLike[str] | bytes, origin: str, limits: ZipLimits = ZipLimits()) -> None:
        self.origin, self.limits = origin, limits
        self._cache: dict[str, bytes] = {}
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise BadInputError(f"{origin}: not a zip file or damaged ({type(exc).__name__})") from None
        if len(infos) > limits.max_members:
            raise BadInputError(f"{origin}: holds {len(infos)} entries, implausibly many; the file is damaged")

    def __enter__(self) -> UserZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def names(self) -> list[str]:
        return self.zf.namelist()

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise BadInputError(f"{self.origin}: {printable(name)} is missing; the file is damaged") from None
        if info.flag_bits & 0x1:
            raise BadInputError(f"{self.origin}: {printable(name)} is encrypted; StyleFuse files never are")
        if info.compress_type not in self.limits.methods:
            raise BadInputError(f"{self.origin}: {printable(name)} uses compression method {info.compress_type}, "
                                "which StyleFuse files never use")
        return info

    def read(self, name: str, max_bytes: int) -> bytes:
        """The member's bytes, refused as soon as more than ``max_bytes`` come out (whatever the header claims)."""
        if name in self._cache:
            return self._cache[name]
        info = self.info(name)
        too_large = BadInputError(f"{self.origin}: {printable(name)} is implausibly large; the file is damaged")
        if info.file_size > max_bytes:
            raise too_large
        parts, total = [], 0
        try:
            with self.zf.open(info) as member:
                while True:
                    chunk = member.read(self.limits.chunk)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > max_bytes:
                        raise too_large
                    parts.append(chunk)
        except BadInputError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise BadInputError(f"{self.origin}: {printable(name)} is damaged ({type(exc).__name__})") from None
        data = b"".join(parts)
        self._cache[name] = data
        return data

    def read_json(self, name: str) -> object:
        raw = self.read(name, self.limits.max_json_bytes)
        return parse_json(raw, self.origin, self.limits.max_json_depth)


JsonObject = dict[str, Any]  # a parsed JSON object (manifests): each value is checked where it is read


def parse_json(raw: bytes, origin: str, max_depth: int = 64) -> object:
    """JSON after checking its nesting depth without parsing (deep nesting crashes the parser)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{origin}: the manifest is not text; the file is damaged") from None
    if json_depth(text) > max_depth:
        raise BadInputError(f"{origin}: the manifest is nested implausibly deep; the file is damaged")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError):
        raise BadInputError(f"{origin}: the manifest is damaged (not valid JSON)") from None


def json_depth(text: str) -> int:
    """The deepest bracket nesting of JSON text, strings skipped."""
    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = token.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest
