"""Real pixels on the canvas (issue 13): zoomed past the proxy's scale, the settled view shows the export's
own pixels for the box in view, painted in the background; a pan supersedes the view being painted.
Shared fixtures (``window``, ``photo_path``) come from test_ui."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from test_ui import PAINT_TIMEOUT, photo_path, wait_painted, window  # noqa: E402,F401

from stylefuse_desktop.document.compositor import RenderStore, composite, resize_rgba  # noqa: E402
from stylefuse_desktop.document.layers import StyleRef  # noqa: E402
from stylefuse_desktop.document.operations import stale_paintings  # noqa: E402
from stylefuse_desktop.progress import NullProgress  # noqa: E402
from stylefuse_desktop.ui import engine_jobs  # noqa: E402


def _export(window) -> np.ndarray:
    """The full-size composite, painted as the export paints it (RGBA float32)."""
    doc = window.doc
    store = RenderStore()
    missing = stale_paintings(doc, store, list(doc.layers))
    for layer_id, painted in engine_jobs.paint_layers(doc, missing, store, 1.0, False, engine_jobs.EngineOptions(),
                                                      NullProgress()):
        store.put(layer_id, painted)
    return composite(doc, store, 1.0)


def _styled_with_small_proxy(qtbot, window):
    window.canvas.proxy_side = 100  # the 200 x 150 photo shows through a 100 x 75 proxy
    window.canvas.refresh()
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    assert window.canvas.proxy_scale == pytest.approx(0.5)


def _wait_region(qtbot, window, box):
    qtbot.waitUntil(lambda: (shown := window.canvas.region_pixels()) is not None and shown[0] == box,
                    timeout=PAINT_TIMEOUT)
    return window.canvas.region_pixels()[1][..., :3].astype(np.float32) / 255


def test_at_100_percent_the_view_shows_the_exports_own_pixels(qtbot, window):
    _styled_with_small_proxy(qtbot, window)
    window.canvas.actual_pixels()
    box = window.canvas.view_box()
    assert box == (0, 0, 200, 150)  # the whole photo fits the canvas at 100%
    shown = _wait_region(qtbot, window, box)
    export = _export(window)[..., :3]
    assert np.abs(shown - export).mean() <= 0.01
    proxy = window.canvas.current_pixels()[..., :3].astype(np.float32) / 255
    enlarged = resize_rgba(proxy, (200, 150))
    assert np.abs(enlarged - export).mean() > 2 * np.abs(shown - export).mean()  # sharper than the proxy
    assert np.abs(enlarged - export).mean() > 0.01
    # a document change drops the old real pixels at once and paints them again for the new state
    layer = window.doc.layers[-1]
    window.doc.set(layer.id, "strength", 0.5)
    qtbot.waitUntil(lambda: window.canvas.region_pixels() is None, timeout=5000)
    changed = _wait_region(qtbot, window, box)
    export = _export(window)[..., :3]
    assert np.abs(changed - export).mean() <= 0.01
    assert np.abs(changed - shown).mean() > 0.01  # half the strength shows


def test_tiles_land_one_by_one_and_a_pan_cancels_the_view_being_painted(qtbot, window, monkeypatch):
    """The view's tiles show as each is made (the job is held after its first tile); a pan cancels that
    job, the new view asks only for the tiles not shown yet, and once they land the view is the export's."""
    from stylefuse_desktop.engine.layer_paint import paint_view_tiles
    from stylefuse_desktop.progress import raise_if_cancelled

    _styled_with_small_proxy(qtbot, window)
    cancelled: list[bool] = []
    painted: list[list[tuple]] = []
    released = threading.Event()

    def small_tiles(doc, box, renders, held, options, progress, skip=frozenset(), step=1):
        mine: list[tuple] = []
        painted.append(mine)
        for tile, rgba in paint_view_tiles(doc, box, renders, held, progress=progress, skip=skip, tile=32,
                                           step=step):
            mine.append(tile)
            yield tile, rgba
            if len(painted) == 1:  # the first view: hold it after its first tile until cancelled (or 2 min)
                for _ in range(2400):
                    if progress.cancelled:
                        break
                    released.wait(0.05)
                cancelled.append(progress.cancelled)
                raise_if_cancelled(progress)

    canvas = window.canvas
    canvas.set_zoom(0.4)  # below the proxy's scale: the proxy alone, no real pixels kept
    qtbot.waitUntil(lambda: not window.jobs.busy("view"), timeout=PAINT_TIMEOUT)
    assert canvas.view_box() is None and canvas.region_tiles() == frozenset()
    monkeypatch.setattr(engine_jobs, "paint_view", small_tiles)
    jobs_before = window.painter.view_jobs
    canvas.set_zoom(8.0)
    first_box = canvas.view_box()
    assert first_box is not None and first_box != (0, 0, 200, 150)  # only a part is in view
    qtbot.waitUntil(lambda: len(canvas.region_tiles()) == 1, timeout=PAINT_TIMEOUT)
    # one tile shows; the rest will follow
    assert window.jobs.busy("view") and canvas.region_pixels() is None, (len(painted), cancelled)
    shown_first = set(canvas.region_tiles())
    middle = QPointF(canvas.width() / 2, canvas.height() / 2).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPointF(160, 80).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=middle + QPointF(160, 80).toPoint())
    second_box = canvas.view_box()
    assert second_box != first_box
    shown = _wait_region(qtbot, window, second_box)
    assert cancelled == [True]  # the pan cancelled the first view's job at its next tile
    assert window.painter.view_jobs == jobs_before + 2 and len(painted) == 2
    (x0, y0, x1, y1), = shown_first
    assert x0 < second_box[2] and x1 > second_box[0] and y0 < second_box[3] and y1 > second_box[1]  # still in view
    assert not shown_first & set(painted[1])  # ... and not painted again
    left, top, right, bottom = second_box
    export = _export(window)[top:bottom, left:right, :3]
    assert np.abs(shown - export).max() <= 2 / 255  # 8-bit display of the export's pixels


def test_zoomed_out_below_100_percent_the_view_sharpens_at_the_resolution_shown(qtbot, window):
    window.canvas.proxy_side = 40  # the 200 x 150 photo shows through a 40 x 30 proxy
    window.canvas.refresh()
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    canvas = window.canvas
    canvas.set_zoom(0.3)
    assert canvas.view_step() == 2 and canvas.view_box() == (0, 0, 200, 150)
    qtbot.waitUntil(lambda: len(canvas.region_tiles(2)) == 1 and not window.jobs.busy("view"), timeout=PAINT_TIMEOUT)
    assert canvas.region_tiles(1) == frozenset() and canvas.region_pixels() is None  # none at full resolution
    canvas.set_zoom(1.0)
    assert canvas.view_step() == 1
    _wait_region(qtbot, window, canvas.view_box())  # at 100% full-resolution tiles follow


def test_a_view_of_a_layered_document_is_the_same_box_of_its_export():
    """Engine side, no window: a moved, masked photo over the photo, a style layer painting from both and a
    second, weight-mapped one painting from the first: every box equals the export's; a second view
    reuses the style layers' paintings instead of painting again."""
    from skimage import data, transform
    from test_document import add_image

    from stylefuse_desktop.document.blend import BlendMode
    from stylefuse_desktop.document.image_io import Photo
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer
    from stylefuse_desktop.document.operations import document_from_photo
    from stylefuse_desktop.engine.layer_paint import paint_view

    rgb = transform.resize(data.chelsea(), (90, 120), anti_aliasing=True).astype(np.float32)
    doc = document_from_photo(Photo(rgb=rgb), "Cat")
    top = add_image(doc, (0.9, 0.8, 0.1), blend_mode=BlendMode.MULTIPLY, opacity=0.6)
    doc.place(top.id, 30, -10)
    mask = np.zeros((90, 120), np.float32)
    mask[20:70] = 1.0
    doc.set(top.id, "mask", mask)
    first = doc.add_layer(StyleLayer(name="Fiesta", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    weights = np.zeros((90, 120), np.float32)
    weights[:, 60:] = 1.0
    second = doc.add_layer(StyleLayer(name="Red", styles=(StyleEntry(StyleRef("builtin", "Red Lacquer"), 1.0,
                                                                     weights),), opacity=0.7, strength=0.8))
    store = RenderStore()
    for layer_id, painted in engine_jobs.paint_layers(doc, [first.id, second.id], store, 1.0, False,
                                                      engine_jobs.EngineOptions(), NullProgress()):
        store.put(layer_id, painted)
    export = composite(doc, store, 1.0)
    assert np.abs(export - composite(doc, None, 1.0)).mean() > 0.05  # the styles show: a box must match them
    held: dict = {}
    for box in [(13, 7, 97, 61), (0, 40, 120, 90)]:
        left, top_row, right, bottom = box
        view = paint_view(doc, box, RenderStore(), held)
        assert view.shape == (bottom - top_row, right - left, 4)
        assert np.abs(view - export[top_row:bottom, left:right]).mean() <= 0.01
        if box[0] == 13:
            kept = {lid: item.painted for lid, item in held.items()}
    assert set(held) == {first.id, second.id}
    assert all(held[lid].painted is kept[lid] for lid in kept)  # the second view painted nothing again
    doc.set(second.id, "strength", 0.4)
    paint_view(doc, (0, 0, 10, 10), RenderStore(), held)
    assert held[first.id].painted is kept[first.id] and held[second.id].painted is not kept[second.id]
