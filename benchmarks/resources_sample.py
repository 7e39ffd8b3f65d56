"""The shipped sample photo, resized, as benchmark input."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample_photo_array(size: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3]: the sample photo cropped to the aspect of ``size`` and resized to it."""
    im = Image.open(ROOT / "resources" / "sample_photo.jpg").convert("RGB")
    w, h = im.size
    target_ratio = size[0] / size[1]
    if w / h > target_ratio:
        new_w = round(h * target_ratio)
        im = im.crop(((w - new_w) // 2, 0, (w - new_w) // 2 + new_w, h))
    else:
        new_h = round(w / target_ratio)
        im = im.crop((0, (h - new_h) // 2, w, (h - new_h) // 2 + new_h))
    return np.asarray(im.resize(size, Image.LANCZOS))
