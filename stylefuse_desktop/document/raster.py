"""Layer pixels in their native depth (8 or 16 bits, RGBA), with reduced copies cached for display.

A 24-megapixel photo is 96 MB as 8-bit RGBA but 384 MB as float32; layers keep the compact form and
convert bands to float when compositing. Display works from reduced copies (proxies), so painting and
zooming stay fluid on large photos.
"""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from .image_io import Photo


def _reduce(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average a float32 [H, W, C] array to (width, height) (Pillow's BOX filter, per channel)."""
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c]), "F").resize(size, Image.Resampling.BOX),
                           np.float32) for c in range(x.shape[2])]
    return np.stack(channels, axis=2)


class Raster:
    def __init__(self, data: np.ndarray) -> None:
        if data.ndim != 3 or data.shape[2] != 4 or data.dtype not in (np.uint8, np.uint16):
            raise ValueError("a raster is [H, W, 4] uint8 or uint16")
        self._data = data
        self._lock = threading.Lock()
        self._reduced: dict[tuple[int, int], np.ndarray] = {}
        self.revision = 0

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_float(cls, rgba: np.ndarray, bit_depth: int = 8) -> Raster:
        top = 65535 if bit_depth == 16 else 255
        dtype = np.uint16 if bit_depth == 16 else np.uint8
        return cls((np.clip(rgba, 0.0, 1.0) * top + 0.5).astype(dtype))

    @classmethod
    def from_photo(cls, photo: Photo) -> Raster:
        """Quantised channel by channel: no full-size float RGBA is ever built (1.4 GB for 24 MP)."""
        top = 65535 if photo.bit_depth == 16 else 255
        data = np.empty(photo.rgb.shape[:2] + (4,), np.uint16 if photo.bit_depth == 16 else np.uint8)
        for c in range(3):
            data[..., c] = np.clip(photo.rgb[..., c] * top + 0.5, 0, top)
        data[..., 3] = top if photo.alpha is None else np.clip(photo.alpha * top + 0.5, 0, top)
        return cls(data)

    # -- reading -----------------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        return self._data

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self._data.shape[1], self._data.shape[0]

    @property
    def bit_depth(self) -> int:
        return 16 if self._data.dtype == np.uint16 else 8

    @property
    def has_alpha(self) -> bool:
        top = 65535 if self.bit_depth == 16 else 255
        return bool((self._data[..., 3] < top).any())

    def to_float(self, rows: slice = slice(None)) -> np.ndarray:
        top = 65535.0 if self.bit_depth == 16 else 255.0
        return self._data[rows].astype(np.float32) / top

    def reduced(self, size: tuple[int, int]) -> np.ndarray:
        """float32 RGBA at (width, height), area-averaged (premultiplied, so edges do not darken); cached."""
        if size == self.size:
            return self.to_float()
        with self._lock:
            if size in self._reduced:
                return self._reduced[size]
        if self.bit_depth == 8:
            # Pillow reduces 8-bit premultiplied RGBA directly: no full-size float copy of a large photo
            reduced8 = Image.fromarray(self._data, "RGBA").convert("RGBa").resize(size, Image.Resampling.BOX)
            out = np.asarray(reduced8.convert("RGBA"), np.float32) / 255.0
            with self._lock:
                if len(self._reduced) > 4:
                    self._reduced.clear()
                self._reduced[size] = out
            return out
        full = self.to_float()
        premultiplied = np.concatenate([full[..., :3] * full[..., 3:4], full[..., 3:4]], axis=2)
        small = _reduce(premultiplied, size)
        alpha = small[..., 3:4]
        with np.errstate(divide="ignore", invalid="ignore"):
            colour = np.where(alpha > 1e-6, small[..., :3] / alpha, 0.0)
        out = np.concatenate([np.clip(colour, 0, 1), np.clip(alpha, 0, 1)], axis=2).astype(np.float32)
        with self._lock:
            if len(self._reduced) > 4:
                self._reduced.clear()
            self._reduced[size] = out
        return out

    # -- writing -----------------------------------------------------------------------------------
    def replace(self, data: np.ndarray) -> None:
        with self._lock:
            self._data = data
            self._reduced.clear()
            self.revision += 1

    def copy(self) -> Raster:
        return Raster(self._data.copy())
