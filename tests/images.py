"""Generated test images (nothing downloaded)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image, ImageCms


def gradient(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with some texture: uint8 [H, W, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x / max(width - 1, 1)
    g = y / max(height - 1, 1)
    b = 0.5 + 0.5 * np.sin((x + y) / 7.0)
    img = np.stack([r, g, b], axis=2) * 0.85 + rng.random((height, width, 3)) * 0.15
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def save(path, array_or_image, **options) -> str:
    im = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    im.save(path, **options)
    return str(path)


def save_float_rgb(folder, name: str, rgb: np.ndarray) -> None:
    """Write float [H, W, 3] in [0, 1] as an 8-bit picture ``folder/name``, making the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(folder / name)


def png_bomb_header(path, width: int, height: int) -> str:
    """A tiny PNG whose header claims an enormous size (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile like sRGB but with the red and blue primaries exchanged.

    Pixels tagged with it mean (B, G, R) in sRGB terms, so a correct conversion swaps the channels.
    """
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", icc[128:132])[0]
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
        tags[sig] = (offset, size)
    (ro, rs), (bo, bs) = tags[b"rXYZ"], tags[b"bXYZ"]
    red, blue = bytes(icc[ro : ro + rs]), bytes(icc[bo : bo + bs])
    icc[ro : ro + rs], icc[bo : bo + bs] = blue, red
    return bytes(icc)
