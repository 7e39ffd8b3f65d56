"""Made-up training material with a known answer, for tests, benchmarks and trying the trainer out:
a synthetic editing look (so a learnt look can be scored against the truth) and generated texture
style sets."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def synthetic_look(rgb: np.ndarray) -> np.ndarray:
    """An editing look made of the usual parts: an S tone curve, split toning (teal shadows, warm
    highlights), a vignette and some local contrast. float32 [H, W, 3] -> same."""
    x = np.clip(rgb.astype(np.float32), 0, 1)
    curve = x * x * (3 - 2 * x)  # S-curve
    x = 0.35 * x + 0.65 * curve
    luma = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
    shadows, highlights = (1 - luma) ** 2, luma**2
    x = x + shadows * np.array([-0.06, 0.03, 0.07], np.float32) + highlights * np.array([0.08, 0.02, -0.07], np.float32)
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx / max(w - 1, 1)) * 2 - 1) ** 2 + ((yy / max(h - 1, 1)) * 2 - 1) ** 2) / np.sqrt(2)
    x = x * (1 - 0.45 * r**2)[..., None]
    blurred = np.asarray(Image.fromarray((np.clip(x, 0, 1) * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(3)), np.float32) / 255
    x = x + 0.6 * (x - blurred)
    looked: np.ndarray = np.clip(x, 0, 1).astype(np.float32)
    return looked


def texture_style_set(count: int = 6, side: int = 320, seed: int = 3) -> list[np.ndarray]:
    """Paintings of bold short strokes in a fixed palette (a made-up 'artist')."""
    rng = np.random.default_rng(seed)
    palette = [(232, 93, 36), (36, 52, 107), (242, 201, 76), (24, 24, 28), (239, 235, 220)]
    out = []
    for _ in range(count):
        im = Image.new("RGB", (side, side), palette[4])
        draw = ImageDraw.Draw(im)
        for _ in range(260):
            x, y = rng.integers(0, side, 2)
            angle = rng.normal(0.6, 0.25)
            length = rng.integers(12, 36)
            dx, dy = length * np.cos(angle), length * np.sin(angle)
            colour = palette[int(rng.integers(0, 4))]
            draw.line([(x, y), (x + dx, y + dy)], fill=colour, width=int(rng.integers(4, 9)))
        out.append(np.asarray(im.filter(ImageFilter.GaussianBlur(0.8)), np.float32) / 255)
    return out


def _vignette(h: int, w: int, strength: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = (((xx / max(w - 1, 1)) * 2 - 1) ** 2 + ((yy / max(h - 1, 1)) * 2 - 1) ** 2) / 2
    falloff: np.ndarray = (1 - strength * r2)[..., None]
    return falloff


def warm_split_tone(rgb: np.ndarray) -> np.ndarray:
    """Warm highlights, teal shadows, a gentle S curve, a soft vignette."""
    return synthetic_look(rgb)


def faded_film(rgb: np.ndarray) -> np.ndarray:
    """Lifted blacks, lowered whites, less saturation, a green-yellow cast: a faded print."""
    x = np.clip(rgb.astype(np.float32), 0, 1)
    luma = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
    x = luma + 0.65 * (x - luma)
    x = 0.12 + 0.78 * x
    x = x * np.array([1.02, 1.03, 0.92], np.float32) + np.array([0.0, 0.01, 0.02], np.float32)
    looked: np.ndarray = np.clip(x, 0, 1).astype(np.float32)
    return looked


def cool_contrast_vignette(rgb: np.ndarray) -> np.ndarray:
    """A strong contrast curve, a blue cast, and a dark vignette reaching the middle of the edges."""
    x = np.clip(rgb.astype(np.float32), 0, 1)
    x = np.clip((x - 0.5) * 1.45 + 0.5, 0, 1)
    x = x * np.array([0.88, 0.97, 1.1], np.float32)
    x = x * _vignette(x.shape[0], x.shape[1], 0.6)
    looked: np.ndarray = np.clip(x, 0, 1).astype(np.float32)
    return looked


SYNTHETIC_LOOKS = {"warm split-tone": warm_split_tone, "faded film": faded_film,
                   "cool contrast + vignette": cool_contrast_vignette}
