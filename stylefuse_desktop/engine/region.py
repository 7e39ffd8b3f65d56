"""Which tiles make up the canvas's view, and in what order (no Qt, no torch).

Zoomed to or past the proxy's scale, the canvas shows the export's own pixels for the region in view
(``layer_paint.paint_view_tiles``). They are painted in tiles of a fixed grid over the whole picture,
so a tile painted for one view is the same tile in the next (a pan reuses what is already painted),
and nearest the view's centre first, so what the eye looks at sharpens first.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def view_tiles(view: View, height: int, width: int, tile: int = TILE) -> list[tuple[range, range]]:
    """The tiles of the ``tile`` grid over a ``height`` x ``width`` picture that meet ``view`` (each
    clipped to the picture, not to the view), nearest to the view's centre first."""
    view = view.clipped(height, width)
    if view.empty:
        return []
    cy, cx = (view.top + view.bottom) / 2, (view.left + view.right) / 2
    tiles = []
    for y in range(view.top // tile * tile, view.bottom, tile):
        for x in range(view.left // tile * tile, view.right, tile):
            rows, cols = range(y, min(y + tile, height)), range(x, min(x + tile, width))
            distance = ((y + rows.stop) / 2 - cy) ** 2 + ((x + cols.stop) / 2 - cx) ** 2
            tiles.append((distance, y, x, rows, cols))
    return [(rows, cols) for *_, rows, cols in sorted(tiles, key=lambda t: t[:3])]
