"""The editor driven as a user drives it (pytest-qt, offscreen). No fixed sleeps: every wait is for a
signal or a condition."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")
from PySide6.QtCore import QMimeData, QPoint, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from stylefuse_desktop.document.layers import ImageLayer, StyleEntry, StyleLayer, StyleRef  # noqa: E402

PAINT_TIMEOUT = 60_000


@pytest.fixture
def photo_path(tmp_path):
    from skimage import data, transform

    rgb = transform.resize(data.chelsea(), (150, 200), anti_aliasing=True)
    path = tmp_path / "cat.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, photo_path):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    app = QApplication.instance()
    app.setOrganizationName("StyleFuseTests")
    app.setApplicationName("StyleFuse")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    from stylefuse_desktop.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.start([str(photo_path)])
    qtbot.waitUntil(lambda: win.engine_ready, timeout=PAINT_TIMEOUT)
    qtbot.waitUntil(lambda: not win.jobs.busy(), timeout=PAINT_TIMEOUT)
    yield win
    win.doc and win.doc.history.mark_clean()
    win.close()  # cancels work and waits for the workers


def shown(win) -> np.ndarray:
    """What the canvas displays now (after any pending recomposite)."""
    win.canvas._recomposite()
    return win.canvas.current_pixels()[..., :3].astype(np.float32) / 255


def wait_painted(qtbot, win, action) -> None:
    with qtbot.waitSignal(win.painted, timeout=PAINT_TIMEOUT):
        action()
    qtbot.waitUntil(lambda: not win.stale_layers(draft=False) and not win.jobs.busy("paint"), timeout=PAINT_TIMEOUT)


def apply_builtin(qtbot, win, name: str) -> None:
    item = next(i for i in win.style_picker.items() if i.text().endswith(name))
    win.style_picker.list.scrollToItem(item)
    rect = win.style_picker.list.visualItemRect(item)
    viewport = win.style_picker.list.viewport()
    # an item view takes a double click after the press that selects the item, as a real mouse gives
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    wait_painted(qtbot, win, lambda: qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center()))


def test_window_shows_before_torch_is_imported(tmp_path):
    script = textwrap.dedent("""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from stylefuse_desktop.ui.main_window import MainWindow
        w = MainWindow(); w.show(); app.processEvents()
        print("torch" in sys.modules, w.isVisible())
    """)
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "STYLEFUSE_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_opening_a_photo_shows_it_and_the_device(window, photo_path):
    assert window.doc.size == (200, 150)
    expected = np.asarray(Image.open(photo_path), np.float32) / 255
    assert np.abs(shown(window) - expected).mean() < 0.01
    assert window.device_label.text().startswith("Engine: CPU")
    assert "cat" in window.windowTitle()


def test_double_clicking_a_style_adds_a_style_layer_and_paints_it(qtbot, window, photo_path):
    before = shown(window)
    apply_builtin(qtbot, window, "Red Lacquer")
    assert [lay.kind for lay in window.doc.layers] == ["image", "style"]
    assert np.abs(shown(window) - before).mean() > 0.05
    assert window.layers_panel.list.count() == 2


def test_dragging_a_weight_slider_repaints_and_is_one_undo_step(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    window.apply_style(StyleRef("builtin", "Frosted Glass"))
    qtbot.waitUntil(lambda: not window.stale_layers(draft=False) and not window.jobs.busy("paint"),
                    timeout=PAINT_TIMEOUT)
    steps = len(window.doc.history.entries)
    before = shown(window)
    slider = window.fusion_panel.rows[1].slider
    slider.setSliderDown(True)  # the press: one gesture begins
    for value in range(100, -1, -20):
        slider.setValue(value)
    assert window.jobs.waiting_count <= 1  # the newest request replaces older ones
    wait_painted(qtbot, window, lambda: slider.setSliderDown(False))
    assert window.doc.layers[1].styles[1].weight == 0.0
    assert len(window.doc.history.entries) == steps + 1
    assert np.abs(shown(window) - before).mean() > 0.01


def test_painting_a_mask_changes_one_region_and_undo_restores_it(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    styled = shown(window)
    window.brush_action.trigger()  # paint the style layer's mask
    canvas = window.canvas
    canvas.set_brush_size(60)
    rect = canvas.image_rect()
    y = int(rect.center().y())
    start = QPoint(int(rect.left() + rect.width() * 0.1), y)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 8):
        qtbot.mouseMove(canvas, QPoint(start.x() + step * 5, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(start.x() + 35, y))
    masked = shown(window)
    h, w = masked.shape[:2]
    left = (slice(h // 2 - 10, h // 2 + 10), slice(int(w * 0.12), int(w * 0.2)))
    right = (slice(h // 2 - 10, h // 2 + 10), slice(int(w * 0.7), int(w * 0.9)))
    assert np.abs(masked[left] - styled[left]).mean() > 0.05  # the photo shows through where painted
    assert np.abs(masked[right] - styled[right]).mean() < 0.01
    assert window.doc.history.undo_text.startswith("Paint mask")
    window.undo_action.trigger()
    assert np.abs(shown(window) - styled).mean() < 0.005


def test_painting_where_a_style_goes_fuses_styles_in_that_region(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    window.apply_style(StyleRef("builtin", "Frosted Glass"))
    qtbot.waitUntil(lambda: not window.stale_layers(draft=False) and not window.jobs.busy("paint"),
                    timeout=PAINT_TIMEOUT)
    before = shown(window)
    window.fusion_panel.rows[1].paint.setChecked(True)  # brush: where Frosted Glass goes
    canvas = window.canvas
    canvas.set_brush_size(80)
    rect = canvas.image_rect()
    x, y = int(rect.right() - rect.width() * 0.2), int(rect.center().y())
    wait_painted(qtbot, window, lambda: (qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y)),
                                         qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))))
    assert window.doc.layers[1].styles[1].weight_map is not None
    assert window.fusion_panel.rows[1].paint.isChecked() and window.canvas.brush_target is not None  # still on
    after = shown(window)
    h, w = after.shape[:2]
    spot = (slice(h // 2 - 5, h // 2 + 5), slice(int(w * 0.78), int(w * 0.82)))
    assert np.abs(after[spot] - before[spot]).mean() > 0.01


def test_reordering_layers_by_drag_in_the_list(qtbot, window, photo_path):
    window.add_photo(str(photo_path))
    first, second = [lay.id for lay in window.doc.layers]
    window.layers_panel.list.moved.emit(second, 1)  # what the list's drop reports: dragged below
    assert [lay.id for lay in window.doc.layers] == [second, first]
    window.undo_action.trigger()
    assert [lay.id for lay in window.doc.layers] == [first, second]


def test_the_eye_hides_a_layer(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    photo_only = window.doc.layers[0]
    style_row = window.layers_panel._rows[window.doc.layers[1].id]
    qtbot.mouseClick(style_row.eye, Qt.MouseButton.LeftButton)
    assert not window.doc.layers[1].visible
    expected = np.asarray(photo_only.raster.to_float()[..., :3])
    assert np.abs(shown(window) - expected).mean() < 0.01


def test_opacity_slider_and_blend_mode_change_the_canvas(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    full = shown(window)
    window.layers_panel.opacity.setValue(30)
    assert window.doc.layers[1].opacity == pytest.approx(0.3)
    half = shown(window)
    assert np.abs(half - full).mean() > 0.03
    index = window.layers_panel.blend.findData("multiply")
    window.layers_panel.blend.setCurrentIndex(index)
    window.layers_panel.blend.activated.emit(index)
    assert window.doc.layers[1].blend_mode.value == "multiply"
    assert np.abs(shown(window) - half).mean() > 0.005


def test_save_and_reopen_gives_the_same_pixels(qtbot, window, tmp_path):
    apply_builtin(qtbot, window, "Terracotta")
    before = shown(window)
    path = tmp_path / "art.sfproj"
    job = window.save_to(path)
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        pass
    assert path.is_file() and window.doc.history.is_clean and "art.sfproj" in window.windowTitle()
    assert window.open_path(str(path))
    qtbot.waitUntil(lambda: not window.stale_layers(draft=False) and not window.jobs.busy("paint"),
                    timeout=PAINT_TIMEOUT)
    assert [lay.kind for lay in window.doc.layers] == ["image", "style"]
    assert np.abs(shown(window) - before).mean() < 0.01


def test_export_writes_a_full_size_file(qtbot, window, tmp_path):
    apply_builtin(qtbot, window, "Terracotta")
    out = tmp_path / "export.jpg"
    job = window.export(out, quality=90)
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        pass
    image = Image.open(out)
    assert image.size == (200, 150) and image.format == "JPEG"
    photo = window.doc.layers[0].raster.to_float()[..., :3]
    assert np.abs(np.asarray(image, np.float32) / 255 - photo).mean() > 0.05


def test_cancelling_a_render_keeps_the_document(qtbot, window, tmp_path):
    from skimage import data

    big = tmp_path / "big.png"
    Image.fromarray(np.tile(data.astronaut(), (2, 2, 1))).save(big)
    assert window.open_path(str(big))
    window.prefs.tile_memory_mb = 64  # many tiles, so there is time to cancel between them
    window.apply_style(StyleRef("builtin", "Golden Haze"))
    qtbot.waitUntil(lambda: window.cancel_button.isVisible() or window.jobs.busy("paint"), timeout=PAINT_TIMEOUT)
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy("paint"), timeout=PAINT_TIMEOUT)
    layer = window.doc.layers[1]
    assert window.renders.get(layer.id, window.canvas.proxy_scale) is None  # nothing half-painted was kept
    assert [lay.kind for lay in window.doc.layers] == ["image", "style"]
    assert "Cancelled" in window.message_bar.label.text()


def test_an_unreadable_file_shows_a_message_and_keeps_the_document(window, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    doc = window.doc
    assert not window.open_path(str(bad))
    assert window.doc is doc
    assert window.message_bar.isVisible() and "broken.jpg" in window.message_bar.label.text()


def test_dropping_a_style_file_imports_it_into_my_styles(window, tmp_path):
    from stylefuse_desktop import locations
    from stylefuse_desktop.document.style_file import StyleFile, write_style_file

    path = write_style_file(tmp_path / "dropped.sfstyle",
                            StyleFile("Dropped Style", "embedding", {"embedding": np.zeros(100, np.float32)}))
    window.open_dropped(str(path))
    assert (locations.user_styles_dir() / "dropped.sfstyle").is_file()
    assert any(i.text().endswith("Dropped Style") for i in window.style_picker.items())


def test_dropping_a_photo_adds_it_as_a_layer(window, photo_path):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert [lay.kind for lay in window.doc.layers] == ["image", "image"]


def test_style_search_filters_the_picker(qtbot, window):
    qtbot.keyClicks(window.style_picker.search, "swirl")
    visible = [i.text() for i in window.style_picker.items() if not i.isHidden()]
    assert visible == ["Blue Swirl"]
    window.style_picker.search.clear()
    assert sum(not i.isHidden() for i in window.style_picker.items()) >= 26


def test_favourites_section(window):
    window.style_picker.toggle_favourite("builtin:Ink Wave")
    first = window.style_picker.list.item(0)
    assert first.text() == "Favourites"
    assert window.style_picker.items()[0].text() == "★ Ink Wave"


def test_merge_down_bakes_the_style_into_pixels(qtbot, window):
    apply_builtin(qtbot, window, "Terracotta")
    before = shown(window)
    window.merge_down()
    qtbot.waitUntil(lambda: len(window.doc.layers) == 1, timeout=PAINT_TIMEOUT)
    assert isinstance(window.doc.layers[0], ImageLayer)
    assert np.abs(shown(window) - before).mean() < 0.02
    window.undo_action.trigger()
    assert [lay.kind for lay in window.doc.layers] == ["image", "style"]


def test_before_after_split_shows_the_photo_on_the_left(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")
    window.split_action.trigger()
    window.canvas._recomposite()
    assert window.canvas._before is not None
    window.canvas.grab()  # paints with the split line
    assert window.canvas.split == 0.5


def test_zoom_fit_and_actual_pixels(window):
    window.canvas.actual_pixels()
    assert window.canvas.zoom == 1.0 and window.zoom_label.text() == "100%"
    window.canvas.zoom_by(2.0)
    assert window.canvas.zoom == 2.0
    window.canvas.fit()
    rect = window.canvas.image_rect()
    assert rect.width() <= window.canvas.width() and rect.height() <= window.canvas.height()


def test_brush_size_keys(qtbot, window):
    window.brush_action.trigger()
    size = window.canvas.brush.size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush.size > size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.canvas.brush.size < size


def test_preferences_are_kept(window):
    from stylefuse_desktop.ui.dialogs import Preferences

    window.apply_preferences(Preferences(device="cpu", tile_memory_mb=256, autosave_minutes=5, preview_side=1024))
    assert Preferences.load() == Preferences(device="cpu", tile_memory_mb=256, autosave_minutes=5, preview_side=1024)
    assert window.autosave_timer.interval() == 5 * 60_000


def test_locked_layer_refuses_edits_with_a_message(qtbot, window):
    layer = window.doc.layers[0]
    qtbot.mouseClick(window.layers_panel._rows[layer.id].lock, Qt.MouseButton.LeftButton)
    assert layer.locked
    window.layers_panel.opacity.setValue(40)
    assert layer.opacity == 1.0
    assert "locked" in window.message_bar.label.text()


def test_fusion_layer_fuses_two_photos(qtbot, window, photo_path, tmp_path):
    from skimage import data

    other = tmp_path / "rocket.png"
    Image.fromarray(data.rocket()).save(other)
    window.add_photo(str(other))
    before = shown(window)
    wait_painted(qtbot, window, window.add_fusion_layer)
    layer = window.doc.layers[-1]
    assert layer.kind == "fusion" and len(layer.sources) == 2
    assert np.abs(shown(window) - before).mean() > 0.05


def test_add_style_from_image_appears_in_the_picker(qtbot, window, photo_path):
    job = window.add_style_from_image(photo_path)
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        pass
    assert any(i.text() == "cat" for i in window.style_picker.items())


def test_new_style_layers_are_queued_for_painting(window):
    doc = window.doc
    doc.add_layer(StyleLayer(name="Manual", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    assert window.stale_layers(draft=False) == [doc.layers[-1].id]


@pytest.fixture
def pairs_folders(tmp_path):
    from stylefuse_desktop.training.synthetic import synthetic_look

    for i, img in enumerate(_small_photos()):
        for folder, rgb in (("before", img), ("after", synthetic_look(img))):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray((rgb * 255).astype(np.uint8)).save(tmp_path / folder / f"p{i}.png")
    return tmp_path / "before", tmp_path / "after"


def _small_photos():
    from skimage import data, transform

    return [transform.resize(img, (48, 64), anti_aliasing=True).astype(np.float32)
            for img in (data.astronaut(), data.chelsea(), data.coffee())]


def test_training_dialog_learns_a_look_and_applies_it(qtbot, window, pairs_folders):
    from stylefuse_desktop import locations

    dialog = window.train_dialog()
    qtbot.addWidget(dialog)
    dialog.pairs_mode.setChecked(True)
    for field, folder in ((dialog.before, pairs_folders[0]), (dialog.after, pairs_folders[1])):
        field.edit.setText(str(folder))
        field.scan()
    assert dialog.before.count == 3 and "3 pictures found" in dialog.before.summary.text()
    qtbot.keyClicks(dialog.name, "Warm Look")
    dialog.steps.setValue(4)
    with qtbot.waitSignal(dialog.style_ready, timeout=PAINT_TIMEOUT):
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert (locations.user_styles_dir() / "warm-look.sfstyle").is_file()
    assert any(i.text() == "Warm Look" for i in window.style_picker.items())
    assert "Saved 'Warm Look'" in dialog.status.text()  # the style's name, not its file's
    assert dialog.bar.value() == dialog.bar.maximum()  # a finished run shows a full bar
    qtbot.waitUntil(lambda: dialog.apply.isVisible(), timeout=PAINT_TIMEOUT)
    qtbot.mouseClick(dialog.apply, Qt.MouseButton.LeftButton)
    assert window.doc.layers[-1].kind == "style" and window.doc.layers[-1].styles[0].style.name == "Warm Look"
    dialog.close()


def test_training_dialog_pauses_cancels_and_offers_to_discard(qtbot, window, tmp_path):
    from stylefuse_desktop.training.synthetic import texture_style_set

    (tmp_path / "art").mkdir()
    for i, img in enumerate(texture_style_set(2, side=96)):
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / "art" / f"a{i}.png")
    (tmp_path / "art" / "notes.txt").write_text("not a picture")
    dialog = window.train_dialog()
    qtbot.addWidget(dialog)
    dialog.styles.edit.setText(str(tmp_path / "art"))
    dialog.styles.scan()
    assert "skipped: notes.txt" in dialog.styles.summary.text()
    dialog.name.setText("Strokes")
    dialog.steps.setValue(400)
    job = dialog.begin()
    steps = []
    dialog.job.progress.observed.connect(lambda e: steps.append(e.step))
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=PAINT_TIMEOUT)
    qtbot.mouseClick(dialog.pause, Qt.MouseButton.LeftButton)
    assert dialog.job.progress.paused and dialog.pause.text() == "Continue"
    qtbot.waitUntil(lambda: len(steps) >= 1)  # at most the step under way finishes, then it holds:
    with qtbot.waitSignal(dialog.job.progress.observed, timeout=1500, raising=False) as extra:
        pass
    if extra.signal_triggered:
        qtbot.assertNotEmitted(dialog.job.progress.observed, wait=1500)
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        qtbot.mouseClick(dialog.cancel, Qt.MouseButton.LeftButton)
    assert dialog.result_path is not None and dialog.stopped_early and dialog.discard.isVisible()
    qtbot.mouseClick(dialog.discard, Qt.MouseButton.LeftButton)
    assert not dialog.result_path and not any(i.text() == "Strokes" for i in window.style_picker.items())
    qtbot.waitUntil(dialog.resume.isVisible)  # the run can still be resumed from its checkpoint
    dialog.close()


def test_styles_export_and_import_round_trip(qtbot, window, tmp_path):
    from stylefuse_desktop.document.style_file import read_style_file

    job = window.add_style_from_image(_cat(tmp_path))
    with qtbot.waitSignal(job.finished, timeout=PAINT_TIMEOUT):
        pass
    ref = next(r for r in window.style_picker.refs.values() if r.kind == "image")
    assert window.export_style(ref, tmp_path / "shared")
    exported = read_style_file(tmp_path / "shared.sfstyle")
    assert exported.name == ref.name and exported.embedding.shape == (100,)
    assert window.import_style(tmp_path / "shared.sfstyle")
    assert any(r.kind == "user" and r.name == ref.name for r in window.style_picker.refs.values())


def _cat(tmp_path):
    from skimage import data

    path = tmp_path / "kitten.png"
    Image.fromarray(data.cat()).save(path)
    return path


def test_style_and_project_files_given_at_start_open_as_a_double_click_expects(qtbot, window, tmp_path):
    from stylefuse_desktop import locations
    from stylefuse_desktop.document.style_file import StyleFile, write_style_file
    from stylefuse_desktop.ui.main_window import MainWindow

    style = write_style_file(tmp_path / "clicked.sfstyle",
                             StyleFile("Clicked Style", "embedding", {"embedding": np.zeros(100, np.float32)}))
    project = tmp_path / "work.sfproj"
    with qtbot.waitSignal(window.save_to(project).finished, timeout=PAINT_TIMEOUT):
        pass
    window.doc.history.mark_clean()
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    second.start([str(style), str(project)])
    assert (locations.user_styles_dir() / "clicked.sfstyle").is_file()
    assert any(i.text().endswith("Clicked Style") for i in second.style_picker.items())
    assert second.doc is not None and "work.sfproj" in second.windowTitle()
    assert second.doc.size == window.doc.size
    qtbot.waitUntil(lambda: second.engine_ready, timeout=PAINT_TIMEOUT)
    second.doc.history.mark_clean()
    second.close()


def test_move_tool_drags_the_photo_nudges_it_and_undo_puts_it_back(qtbot, window):
    photo = window.doc.layers[0]
    window.doc.select(photo.id)
    before = shown(window)
    window.move_action.trigger()
    canvas = window.canvas
    rect = canvas.image_rect()
    start = QPoint(int(rect.center().x()), int(rect.center().y()))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 5):
        qtbot.mouseMove(canvas, QPoint(start.x() + step * 10, start.y()))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(start.x() + 40, start.y()))
    assert photo.x == round(40 / canvas.zoom) and photo.y == 0
    assert window.doc.history.undo_text == f"Move {photo.name}"
    moved = shown(window)
    shift = round(photo.x * canvas.proxy_scale)
    # the picture slid right: what was at column c is now at column c + shift
    assert np.abs(moved[:, shift + 5 :] - before[:, 5 : before.shape[1] - shift]).mean() < 0.02
    assert np.abs(moved - before).mean() > 0.05
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert (photo.x, photo.y) == (round(40 / canvas.zoom) + 1, 10)
    for _ in range(3):
        window.undo_action.trigger()
    assert (photo.x, photo.y) == (0, 0)
    assert np.abs(shown(window) - before).mean() < 0.005
    window.scale_layer(photo.id, 0.5)  # about its centre
    w, h = photo.raster.size
    assert photo.scale == 0.5 and (photo.x, photo.y) == (round(w / 4), round(h / 4))


def test_move_tool_explains_why_a_style_layer_does_not_move(qtbot, window):
    apply_builtin(qtbot, window, "Red Lacquer")  # selects the new style layer
    window.move_action.trigger()
    canvas = window.canvas
    steps = len(window.doc.history.entries)
    centre = canvas.image_rect().center().toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(30, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(30, 0))
    assert "photo layer" in window.message_bar.label.text()
    assert len(window.doc.history.entries) == steps and window.doc.layers[0].x == 0


def test_style_thumbnails_come_from_the_disk_cache_on_the_next_start(window, qtbot, photo_path, monkeypatch):
    from stylefuse_desktop.engine.styles import builtin_styles
    from stylefuse_desktop.ui import engine_jobs
    from stylefuse_desktop.ui.main_window import MainWindow

    keys = [f"builtin:{s.name}" for s in builtin_styles()]
    assert all(k in window.style_picker.thumbnails for k in keys)  # painted by the first window
    calls = []
    monkeypatch.setattr(engine_jobs, "style_thumbnails", lambda *args: calls.append(args) or ([], []))
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    again.start([str(photo_path)])
    qtbot.waitUntil(lambda: all(k in again.style_picker.thumbnails for k in keys), timeout=10_000)
    qtbot.waitUntil(lambda: again.engine_ready and not again.jobs.busy(), timeout=PAINT_TIMEOUT)
    assert not calls  # nothing painted again: every thumbnail came from the cache
    again.close()


def test_a_job_that_answers_after_its_window_is_deleted_ends_unheard(qtbot, tmp_path, monkeypatch):
    """The training dialog's checkpoint check runs in the window's job list; its answer (and the job's
    end) may arrive after the window and the dialog are deleted. Nothing may touch the deleted widgets
    (pytest-qt fails the test on any exception raised in the event loop)."""
    import threading

    import shiboken6

    from stylefuse_desktop.ui import train_dialog
    from stylefuse_desktop.ui.main_window import MainWindow

    release, answered = threading.Event(), threading.Event()

    def slow_check(config, progress):
        release.wait(10)
        answered.set()
        return True

    monkeypatch.setattr(train_dialog, "_checkpoint_exists", slow_check)
    (tmp_path / "art").mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), np.uint8)).save(tmp_path / "art" / "a.png")
    win = MainWindow()
    dialog = win.train_dialog()
    dialog.styles.edit.setText(str(tmp_path / "art"))
    dialog.styles.scan()
    dialog.name.setText("Late")
    dialog._check_checkpoint()
    shiboken6.delete(win)  # deleted (as at the end of a session), not closed: its jobs are not cancelled
    assert not shiboken6.isValid(dialog)
    release.set()
    qtbot.waitUntil(answered.is_set, timeout=10_000)
    qtbot.wait(300)  # the answer's queued signals reach the UI thread here
