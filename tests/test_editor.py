"""The editor's soundness (issue 12): each test drives the real window and fails on the defect it names.
Shared fixtures (``window``, ``photo_path``) come from test_ui."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

from test_ui import PAINT_TIMEOUT, photo_path, shown, wait_painted, window  # noqa: E402,F401

from stylefuse_desktop.document.layers import StyleRef  # noqa: E402


def test_a_style_added_from_an_image_paints_the_layer(qtbot, window, photo_path):
    """The blocker: "Add style from image", then a double-click on it in the picker, paints pixels."""
    from skimage import data

    from PIL import Image

    style_path = photo_path.parent / "coffee.png"
    Image.fromarray(data.coffee()[::4, ::4]).save(style_path)
    job = window.add_style_from_image(style_path)
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        pass
    item = next(i for i in window.style_picker.items() if i.text() == "coffee")
    before = shown(window)
    viewport = window.style_picker.list.viewport()
    rect = window.style_picker.list.visualItemRect(item)
    window.style_picker.list.scrollToItem(item)
    rect = window.style_picker.list.visualItemRect(item)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    wait_painted(qtbot, window, lambda: qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center()))
    layer = window.doc.layers[-1]
    assert layer.kind == "style" and layer.styles[0].style.kind == "image"
    assert np.abs(shown(window) - before).mean() > 0.03
    assert window.message_bar.isHidden() or "failed" not in window.message_bar.label.text()
    # a built-in added to that layer mixes with it, and paints too
    mixed_before = shown(window)
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    assert len(window.doc.layers[-1].styles) == 2
    assert np.abs(shown(window) - mixed_before).mean() > 0.01
