"""Style thumbnails kept on disk between runs (no Qt, no torch), so the picker shows them at once.

A thumbnail is a PNG in the cache folder (``locations.cache_dir() / "thumbnails"``) named by a hash
of everything that decides its pixels: the style's identity (a built-in's name; a picture or trained
style's content hash, so a changed style gets a new thumbnail), the photo it paints (its pixels) and
the engine's look (``LOOK_VERSION``, bumped when the engine paints differently). Entries nobody asked
for in a long while are pruned, oldest first, beyond ``MAX_FILES``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from .. import locations
from .atomic import atomic_write_bytes
from .image_io import to_uint8

log = logging.getLogger(__name__)

# the engine's look: stroke-size model (built-ins 768 px, pictures 512 px), built-ins in their own net,
# light-matched colour preservation
LOOK_VERSION = "2026-11-stroke-size-1"
MAX_FILES = 4000

# cache folder -> how many thumbnails it holds, counted once and then kept by the writes (a write used to
# list the whole folder); shared by every ThumbnailCache of a folder (a job makes one per thumbnail)
_counts: dict[Path, int] = {}
_counts_lock = threading.Lock()


def thumbnail_key(style_key: str, photo: np.ndarray, settings: str = "") -> str:
    """The cache name of the thumbnail of style ``style_key`` (``StyleRef.key``) painted on ``photo``
    ([h, w, 3] float in [0, 1]) with ``settings`` (any text that changes the pixels)."""
    pixels = np.ascontiguousarray(to_uint8(photo))
    digest = hashlib.sha256()
    for part in (LOOK_VERSION, style_key, settings, str(pixels.shape)):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(pixels.tobytes())
    return digest.hexdigest()[:40]


class ThumbnailCache:
    def __init__(self, folder: Path | None = None, max_files: int = MAX_FILES) -> None:
        self.folder = folder if folder is not None else locations.cache_dir() / "thumbnails"
        self.max_files = max_files

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.png"

    def get(self, key: str) -> np.ndarray | None:
        """The thumbnail ([h, w, 3] float32) or None; a damaged file counts as missing (and is removed)."""
        path = self._path(key)
        try:
            with Image.open(path, formats=["PNG"]) as im:
                im.load()
                rgb = np.asarray(im.convert("RGB"), np.float32) / 255.0
        except FileNotFoundError:
            return None
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.warning("dropping damaged thumbnail %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # recently used: pruned last
        except OSError:
            pass
        return rgb

    def put(self, key: str, rgb: np.ndarray) -> None:
        """Store a thumbnail (atomically); a cache that cannot be written is only logged."""
        buffer = io.BytesIO()
        Image.fromarray(to_uint8(rgb)).save(buffer, format="PNG")
        path = self._path(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            new = not path.exists()
            atomic_write_bytes(path, buffer.getvalue())
            with _counts_lock:
                count = _counts.get(self.folder)
                count = self._prune() if count is None or count + new > self.max_files else count + new
                _counts[self.folder] = count
        except OSError as exc:
            log.warning("cannot cache thumbnail: %s", exc)

    def _prune(self) -> int:
        """Remove the least recently used thumbnails beyond ``max_files``; how many remain."""
        files = sorted(self.folder.glob("*.png"), key=lambda p: p.stat().st_mtime)
        excess = max(0, len(files) - self.max_files)
        for path in files[:excess]:
            path.unlink(missing_ok=True)
        return len(files) - excess
