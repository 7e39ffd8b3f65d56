"""Blend modes, as the W3C Compositing and Blending specification defines them (the same formulas
Photoshop, GIMP and Krita use). Each takes the backdrop Cb and the source Cs, float32 [..., 3] in
[0, 1], and returns B(Cb, Cs); compositing with alpha happens in ``compositor``."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np
from numpy.typing import NDArray


class BlendMode(str, Enum):
    NORMAL = "normal"
    MULTIPLY = "multiply"
    SCREEN = "screen"
    OVERLAY = "overlay"
    SOFT_LIGHT = "soft-light"
    HARD_LIGHT = "hard-light"
    DARKEN = "darken"
    LIGHTEN = "lighten"
    DIFFERENCE = "difference"
    HUE = "hue"
    SATURATION = "saturation"
    COLOR = "color"
    LUMINOSITY = "luminosity"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


def _hard_light(cb: NDArray[np.float32], cs: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.where(cs <= 0.5, cb * 2 * cs, 1 - (1 - cb) * (1 - (2 * cs - 1)))


def _soft_light(cb: NDArray[np.float32], cs: NDArray[np.float32]) -> NDArray[np.float32]:
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    return np.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))


# -- non-separable modes: work on luminosity and saturation of the whole colour ---------------------

def lum(c: NDArray[np.float32]) -> NDArray[np.float32]:
    luminosity: NDArray[np.float32] = 0.3 * c[..., 0:1] + 0.59 * c[..., 1:2] + 0.11 * c[..., 2:3]
    return luminosity


def _clip_color(c: NDArray[np.float32]) -> NDArray[np.float32]:
    l_ = lum(c)
    n = c.min(axis=-1, keepdims=True)
    x = c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(n < 0, l_ + (c - l_) * l_ / (l_ - n), c)
        high = np.where(x > 1, l_ + (low - l_) * (1 - l_) / (x - l_), low)
    return np.nan_to_num(high, nan=0.0)


def _set_lum(c: NDArray[np.float32], target: NDArray[np.float32]) -> NDArray[np.float32]:
    return _clip_color(c + (target - lum(c)))


def _sat(c: NDArray[np.float32]) -> NDArray[np.float32]:
    saturation: NDArray[np.float32] = c.max(axis=-1, keepdims=True) - c.min(axis=-1, keepdims=True)
    return saturation


def _set_sat(c: NDArray[np.float32], s: NDArray[np.float32]) -> NDArray[np.float32]:
    cmax = c.max(axis=-1, keepdims=True)
    cmin = c.min(axis=-1, keepdims=True)
    span = cmax - cmin
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(span > 0, (c - cmin) * s / span, 0.0)
    return out.astype(c.dtype)


BLENDS: dict[BlendMode, Callable[[NDArray[np.float32], NDArray[np.float32]], NDArray[np.float32]]] = {
    BlendMode.NORMAL: lambda cb, cs: cs,
    BlendMode.MULTIPLY: lambda cb, cs: cb * cs,
    BlendMode.SCREEN: lambda cb, cs: cb + cs - cb * cs,
    BlendMode.OVERLAY: lambda cb, cs: _hard_light(cs, cb),
    BlendMode.SOFT_LIGHT: _soft_light,
    BlendMode.HARD_LIGHT: _hard_light,
    BlendMode.DARKEN: np.minimum,
    BlendMode.LIGHTEN: np.maximum,
    BlendMode.DIFFERENCE: lambda cb, cs: np.abs(cb - cs),
    BlendMode.HUE: lambda cb, cs: _set_lum(_set_sat(cs, _sat(cb)), lum(cb)),
    BlendMode.SATURATION: lambda cb, cs: _set_lum(_set_sat(cb, _sat(cs)), lum(cb)),
    BlendMode.COLOR: lambda cb, cs: _set_lum(cs, lum(cb)),
    BlendMode.LUMINOSITY: lambda cb, cs: _set_lum(cb, lum(cs)),
}


def blend(mode: BlendMode | str, backdrop: NDArray[np.float32], source: NDArray[np.float32]) -> NDArray[np.float32]:
    return BLENDS[BlendMode(mode)](backdrop, source).astype(np.float32)


def composite_over(backdrop: NDArray[np.float32], source: NDArray[np.float32], alpha: NDArray[np.float32],
                   mode: BlendMode | str) -> NDArray[np.float32]:
    """Source (straight RGB, coverage ``alpha`` [..., 1]) over a backdrop (straight RGBA [..., 4]).

    W3C: co = as*(1 - ab)*Cs + as*ab*B(Cb, Cs) + (1 - as)*ab*Cb;  ao = as + ab*(1 - as).
    """
    cb, ab = backdrop[..., :3], backdrop[..., 3:4]
    mixed = blend(mode, cb, source) if BlendMode(mode) != BlendMode.NORMAL else source
    premultiplied = alpha * (1 - ab) * source + alpha * ab * mixed + (1 - alpha) * ab * cb
    out_alpha = alpha + ab * (1 - alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(out_alpha > 1e-6, premultiplied / out_alpha, 0.0)
    return np.concatenate([np.clip(colour, 0, 1), out_alpha], axis=-1).astype(np.float32)
