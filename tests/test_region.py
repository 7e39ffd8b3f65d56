"""Real pixels for the canvas: any region of a render, painted at full resolution with the whole
image's statistics, equals that region of the full export."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylefuse_desktop.engine.render import RenderSettings, paint_image, render_image
from stylefuse_desktop.engine.styles import parse_mix


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    from stylefuse_desktop.document.image_io import resize_array

    return resize_array(data.coffee().astype(np.float32) / 255.0, (1200, 800))


@pytest.mark.parametrize("case", ["builtin, colour kept, strength", "picture", "built-in and picture by masks"])
def test_a_region_painted_for_the_view_equals_that_region_of_the_export(photo, tmp_path, style_rgb, case):
    path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    masks = None
    settings = RenderSettings()
    if case.startswith("builtin"):
        mix = parse_mix(["Ink Wave"])
        settings = RenderSettings(preserve_color=True, strength=0.7)
    elif case == "picture":
        mix = parse_mix([], [str(path)])
    else:
        mix = parse_mix(["Fiesta"], [str(path)])
        left = np.zeros(photo.shape[:2], np.float32)
        left[:, :600] = 1.0
        masks = [left, 1.0 - left]
    export = render_image(photo, mix, settings, style_masks=masks)
    painted = paint_image(photo, mix, settings, style_masks=masks)
    for rows, cols in ((range(100, 356), range(500, 820)), (range(0, 64), range(1100, 1200)),
                       (range(737, 800), range(0, 1200))):
        region = painted.region(rows, cols)
        assert region.shape == (len(rows), len(cols), 3)
        assert np.abs(region - export[rows.start : rows.stop, cols.start : cols.stop]).max() <= 0.01


def test_view_tiles_cover_the_view_once_from_the_centre_out():
    from stylefuse_desktop.engine.region import View, view_tiles

    view = View(100, 50, 700, 1000)
    tiles = view_tiles(view, 256)
    covered = np.zeros((800, 1100), np.int32)
    for rows, cols in tiles:
        covered[rows.start : rows.stop, cols.start : cols.stop] += 1
    assert (covered[100:700, 50:1000] == 1).all() and covered.sum() == 600 * 950
    first_rows, first_cols = tiles[0]
    assert 400 in first_rows and 525 in first_cols  # the view's centre is painted first


def test_a_newer_view_stops_the_old_one_and_its_tiles_are_the_export(photo):
    from stylefuse_desktop.engine.region import RegionPainter, View

    mix = parse_mix(["Fiesta"])
    export = render_image(photo, mix)
    painter = RegionPainter(paint_image(photo, mix), tile=128)
    first = painter.request(View(0, 0, 400, 600))
    old = painter.tiles(View(0, 0, 400, 600), first)
    next(old)
    second = painter.request(View(300, 500, 700, 1100))  # the view moved on
    assert list(old) == []  # the old view stops at its next tile
    painted = list(painter.tiles(View(300, 500, 900, 1300), second))  # clipped to the picture
    assert sum(len(r) * len(c) for r, c, _ in painted) == 500 * 700
    for rows, cols, pixels in painted:
        assert np.abs(pixels - export[rows.start : rows.stop, cols.start : cols.stop]).max() <= 0.01
