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


def test_a_pan_cancels_the_view_being_painted_and_the_new_view_lands(qtbot, window, monkeypatch):
    _styled_with_small_proxy(qtbot, window)
    real = engine_jobs.paint_view
    calls: list[bool] = []
    released = threading.Event()

    def first_waits(doc, box, renders, held, options, progress):
        if not calls:  # the first view: hold it until it is cancelled (or 20 s pass)
            for _ in range(400):
                if progress.cancelled:
                    break
                released.wait(0.05)
            calls.append(progress.cancelled)
            from stylefuse_desktop.progress import raise_if_cancelled

            raise_if_cancelled(progress)
        else:
            calls.append(False)
        return real(doc, box, renders, held, options, progress)

    monkeypatch.setattr(engine_jobs, "paint_view", first_waits)
    canvas = window.canvas
    canvas.set_zoom(8.0)
    first_box = canvas.view_box()
    assert first_box is not None and first_box != (0, 0, 200, 150)  # only a part is in view
    qtbot.waitUntil(lambda: window.painter.view_jobs == 1 and window.jobs.busy("view"), timeout=5000)
    middle = QPointF(canvas.width() / 2, canvas.height() / 2).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPointF(160, 80).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=middle + QPointF(160, 80).toPoint())
    second_box = canvas.view_box()
    assert second_box != first_box
    shown = _wait_region(qtbot, window, second_box)
    assert calls[0] is True  # the pan cancelled the first view's job
    assert window.painter.view_jobs == 2
    left, top, right, bottom = second_box
    export = _export(window)[top:bottom, left:right, :3]
    assert np.abs(shown - export).mean() <= 0.01
