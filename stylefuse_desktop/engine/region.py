"""Real pixels for the view: the visible part of a render at full resolution, in tiles, newest view
first (no Qt).

The canvas shows large photos through a proxy. Zoomed to or past the proxy's scale, it asks for the
region in view: ``RegionPainter`` paints it from a ``PaintedImage`` (the networks' paintings of the
full photo with whole-image statistics, made once per layer and settings), tile by tile from the
centre of the view outwards, and stops at the next tile when a newer view is asked for. Every tile is
exactly that part of the full export.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .render import PaintedImage

TILE = 256


@dataclass(frozen=True)
class View:
    """A box of the full-size picture: rows top..bottom, columns left..right (pixels, end exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    def clipped(self, height: int, width: int) -> View:
        return View(max(0, self.top), max(0, self.left), min(height, self.bottom), min(width, self.right))

    @property
    def empty(self) -> bool:
        return self.bottom <= self.top or self.right <= self.left


def view_tiles(view: View, tile: int = TILE) -> list[tuple[range, range]]:
    """The tiles covering ``view`` (aligned to a ``tile`` grid, so a moved view reuses tiles), nearest
    to the view's centre first."""
    cy, cx = (view.top + view.bottom) / 2, (view.left + view.right) / 2
    tiles = []
    for y in range(view.top // tile * tile, view.bottom, tile):
        for x in range(view.left // tile * tile, view.right, tile):
            rows = range(max(y, view.top), min(y + tile, view.bottom))
            cols = range(max(x, view.left), min(x + tile, view.right))
            distance = (y + tile / 2 - cy) ** 2 + (x + tile / 2 - cx) ** 2
            tiles.append((distance, rows, cols))
    return [(rows, cols) for _, rows, cols in sorted(tiles, key=lambda t: t[0])]


class RegionPainter:
    """Paints views of one ``PaintedImage``; a newer ``request`` supersedes the one being painted."""

    def __init__(self, painted: PaintedImage, tile: int = TILE) -> None:
        self.painted = painted
        self.tile = tile
        self._latest = 0
        self._lock = threading.Lock()

    def request(self, view: View) -> int:
        """Ask for ``view``; returns its ticket (``tiles`` of older tickets stop at their next tile)."""
        with self._lock:
            self._latest += 1
            return self._latest

    def current(self, ticket: int) -> bool:
        return ticket == self._latest

    @torch.inference_mode()
    def tiles(self, view: View, ticket: int) -> Iterator[tuple[range, range, np.ndarray]]:
        """(rows, columns, [h, w, 3] float32 pixels) for each tile of ``view``, centre first, until a
        newer view is requested."""
        height, width = self.painted.size
        view = view.clipped(height, width)
        if view.empty:
            return
        for rows, cols in view_tiles(view, self.tile):
            if not self.current(ticket):
                return
            yield rows, cols, self.painted.region(rows, cols)
