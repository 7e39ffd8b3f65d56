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


def test_view_tiles_cover_the_view_once_from_the_centre_out_on_one_grid():
    from stylefuse_desktop.engine.region import View, view_tiles

    view = View(100, 50, 700, 1000)
    tiles = view_tiles(view, 800, 1100, 256)
    covered = np.zeros((800, 1100), np.int32)
    for rows, cols in tiles:
        assert rows.start % 256 == 0 and cols.start % 256 == 0  # one grid: a moved view meets the same tiles
        covered[rows.start : rows.stop, cols.start : cols.stop] += 1
    assert (covered[100:700, 50:1000] == 1).all() and covered.max() == 1  # every pixel once, no overlap
    assert (768, 1024) in {(r.stop, c.stop) for r, c in tiles}  # not cut at the view's edge
    assert [(r.stop, c.stop) for r, c in view_tiles(View(790, 1090, 800, 1100), 800, 1100, 256)] == [(800, 1100)]
    first_rows, first_cols = tiles[0]
    assert 400 in first_rows and 525 in first_cols  # the view's centre is painted first
    centre = [((r.start + r.stop) / 2 - 400) ** 2 + ((c.start + c.stop) / 2 - 525) ** 2 for r, c in tiles]
    assert centre == sorted(centre)
    assert view_tiles(View(900, 0, 1000, 50), 800, 1100) == []  # outside the picture: nothing


def _cat_document(size=(300, 200)):
    from skimage import data, transform

    from stylefuse_desktop.document.image_io import Photo
    from stylefuse_desktop.document.operations import document_from_photo

    rgb = transform.resize(data.chelsea(), size[::-1], anti_aliasing=True).astype(np.float32)
    return document_from_photo(Photo(rgb=rgb), "Cat")


def _export(doc) -> np.ndarray:
    from stylefuse_desktop.document.compositor import RenderStore, composite
    from stylefuse_desktop.progress import NullProgress
    from stylefuse_desktop.ui import engine_jobs

    store = RenderStore()
    styled = [layer.id for layer in doc.layers if not hasattr(layer, "raster")]
    for layer_id, painted in engine_jobs.paint_layers(doc, styled, store, 1.0, False, engine_jobs.EngineOptions(),
                                                      NullProgress()):
        store.put(layer_id, painted)
    return composite(doc, store, 1.0)


def test_view_tiles_arrive_one_by_one_centre_first_and_a_newer_view_cancels_the_rest():
    """Engine side of the canvas's tiles: each tile is that box of the export, they come nearest the
    view's centre first, tiles already shown are skipped, and cancelling stops at the next tile."""
    from stylefuse_desktop.document.compositor import RenderStore
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.engine.layer_paint import paint_view_tiles
    from stylefuse_desktop.errors import Cancelled
    from stylefuse_desktop.progress import RecordingProgress

    doc = _cat_document()
    doc.add_layer(StyleLayer(name="Fiesta", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    export = _export(doc)
    held: dict = {}
    box = (40, 30, 260, 170)  # left, top, right, bottom
    tiles = list(paint_view_tiles(doc, box, RenderStore(), held, tile=64))
    assert len(tiles) == 5 * 3  # columns from 0, 64 .. 256 and rows from 0, 64, 128 of the 64 px grid
    for (x0, y0, x1, y1), rgba in tiles:
        assert rgba.shape == (y1 - y0, x1 - x0, 4)
        assert np.abs(rgba - export[y0:y1, x0:x1]).max() <= 0.01
    centre = [((x0 + x1) / 2 - 150) ** 2 + ((y0 + y1) / 2 - 100) ** 2 for (x0, y0, x1, y1), _ in tiles]
    assert centre == sorted(centre) and centre[0] < centre[-1]
    shown = {tile for tile, _ in tiles[:10]}
    rest = list(paint_view_tiles(doc, box, RenderStore(), held, skip=shown, tile=64))
    assert {tile for tile, _ in rest} == {tile for tile, _ in tiles[10:]}  # only what is not shown yet

    progress = RecordingProgress()
    moved = paint_view_tiles(doc, (0, 0, 300, 200), RenderStore(), held, progress=progress, tile=64)
    next(moved)
    progress.cancel()  # the view moved on
    with pytest.raises(Cancelled):
        next(moved)


def test_a_fusion_layers_view_is_the_same_box_of_its_export():
    from skimage import data, transform

    from stylefuse_desktop.document.compositor import RenderStore
    from stylefuse_desktop.document.image_io import Photo
    from stylefuse_desktop.document.layers import FusionLayer, FusionSource, StyleEntry, StyleRef
    from stylefuse_desktop.document.operations import layer_from_photo
    from stylefuse_desktop.engine.layer_paint import paint_view

    doc = _cat_document()
    rocket = transform.resize(data.rocket(), (240, 320), anti_aliasing=True).astype(np.float32)
    second = doc.add_layer(layer_from_photo(Photo(rgb=rocket), "Rocket", doc))
    mask = np.zeros((200, 300), np.float32)
    mask[:, 150:] = 1.0
    sources = (FusionSource(doc.layers[0].id, 0.6), FusionSource(second.id, 0.4, mask))
    doc.add_layer(FusionLayer(name="Fused", sources=sources, styles=(StyleEntry(StyleRef("builtin", "Ink Wave")),),
                              strength=0.8))
    export = _export(doc)
    held: dict = {}
    for box in [(0, 0, 300, 200), (117, 41, 233, 187)]:
        left, top, right, bottom = box
        view = paint_view(doc, box, RenderStore(), held)
        assert np.abs(view - export[top:bottom, left:right]).max() <= 0.01
    fused = doc.layers[-1].id
    assert set(held) == {fused}  # the fusion's full-size painting is kept for the next view


def test_below_100_percent_tiles_come_at_the_resolution_shown():
    """Zoomed out (step 2: 50% down to 25%), each tile of a grid twice as coarse is the export's box
    area-averaged to half its size: the view costs a quarter of the pixels to show and to keep."""
    from stylefuse_desktop.document.compositor import RenderStore, resize_rgba
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.engine.layer_paint import paint_view_tiles

    doc = _cat_document()
    doc.add_layer(StyleLayer(name="Ink", styles=(StyleEntry(StyleRef("builtin", "Ink Wave")),), strength=0.9))
    export = _export(doc)
    tiles = list(paint_view_tiles(doc, (0, 0, 300, 200), RenderStore(), {}, tile=64, step=2))
    assert len(tiles) == 3 * 2  # a 128 px grid over 300 x 200
    for (x0, y0, x1, y1), rgba in tiles:
        assert x0 % 128 == 0 and y0 % 128 == 0
        assert rgba.shape == (round((y1 - y0) / 2), round((x1 - x0) / 2), 4)
        expected = resize_rgba(export[y0:y1, x0:x1], (rgba.shape[1], rgba.shape[0]))
        assert np.abs(rgba - expected).max() <= 0.01
