"""16-bit RGB/RGBA PNG, which Pillow reads only as 8 bits and cannot write. Just enough of the format
for project files: the writer uses no row filter; the reader takes rows filtered None, Sub or Up
(anything else is reported as unsupported rather than guessed)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


class PngError(ValueError):
    pass


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png16(pixels: np.ndarray, level: int = 3) -> bytes:
    """uint16 [H, W] or [H, W, 1|3|4] -> PNG bytes."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width, channels = pixels.shape
    if pixels.dtype != np.uint16 or channels not in _COLOUR_TYPES:
        raise ValueError("expected uint16 pixels with 1, 3 or 4 channels")
    rows = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, width * channels * 2)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter byte 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOUR_TYPES[channels], 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + _chunk(
        b"IEND", b"")


def decode_png16(data: bytes) -> np.ndarray:
    """PNG bytes (16-bit grey, RGB or RGBA, not interlaced) -> uint16 [H, W, C]."""
    if not data.startswith(_SIGNATURE):
        raise PngError("not a PNG file")
    pos, header, idat = len(_SIGNATURE), None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise PngError("truncated PNG")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise PngError("PNG without a header")
    width, height, depth, colour, _, _, interlace = header
    channels = {v: k for k, v in _COLOUR_TYPES.items()}.get(colour)
    if depth != 16 or channels is None or interlace:
        raise PngError("unsupported PNG layout (expected 16-bit, not interlaced)")
    stride = width * channels * 2
    try:
        raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    except zlib.error as exc:
        raise PngError(f"damaged PNG data ({exc})") from None
    if raw.size != height * (stride + 1):
        raise PngError("PNG data has the wrong size")
    raw = raw.reshape(height, stride + 1)
    filters, rows = raw[:, 0], raw[:, 1:].astype(np.uint16)
    bpp = channels * 2
    out = np.empty_like(rows)
    for y in range(height):
        row, f = rows[y], filters[y]
        if f == 0:
            out[y] = row
        elif f == 1:  # Sub: each byte adds the byte bpp to its left
            lanes = row.reshape(width, bpp)
            out[y] = (np.cumsum(lanes, axis=0) % 256).reshape(-1)
        elif f == 2:  # Up
            out[y] = (row + (out[y - 1] if y else 0)) % 256
        else:
            raise PngError(f"unsupported PNG row filter {f}")
    pixels = out.astype(np.uint8).reshape(height, width * channels, 2)
    return (pixels[..., 0].astype(np.uint16) << 8 | pixels[..., 1]).reshape(height, width, channels)
