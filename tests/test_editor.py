"""The editor's soundness (issue 12): each test drives the real window and fails on the defect it names.
Shared fixtures (``window``, ``photo_path``) come from test_ui."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")
import shiboken6  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from test_ui import PAINT_TIMEOUT, photo_path, shown, wait_painted, window  # noqa: E402,F401

from stylefuse_desktop.document.layers import StyleRef  # noqa: E402


def test_a_style_added_from_an_image_paints_the_layer(qtbot, window, photo_path):
    """The blocker: "Add style from image", then a double-click on it in the picker, paints pixels."""
    from skimage import data

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


def _open_large_photo(qtbot, window, tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "large.png"
    Image.fromarray(data.chelsea()).resize((1200, 900)).save(path)
    window.open_path(str(path))


def test_a_throttled_drag_shows_previews_before_the_hand_comes_up(qtbot, window, tmp_path):
    _open_large_photo(qtbot, window, tmp_path)  # a preview takes longer than the time between two changes
    _style_layer_with_two_styles(qtbot, window)
    slider = window.fusion_panel.rows[1].slider
    previews = []
    window.painted.connect(lambda: previews.append(window.painter.interacting))
    slider.setSliderDown(True)  # the press
    value = 100
    for _ in range(1000):  # a steady drag: a change every 10 ms, never pausing (a debounce never fires)
        value = 100 - (100 - value + 3) % 100
        slider.setValue(value)
        qtbot.wait(10)
        if any(previews):
            break
    assert any(previews), "no preview landed while the slider was held"
    assert window.jobs.waiting_count <= 1
    wait_painted(qtbot, window, lambda: slider.setSliderDown(False))
    assert not window.painter.interacting and not window.stale_layers(draft=False)


class _Clock:
    """Simulated milliseconds for the scheduler's timers: a test decides when each timer fires."""

    def __init__(self) -> None:
        self.now, self.timers = 0, []

    def timer(self, parent, interval_ms):
        timer = _Timer(self, interval_ms)
        self.timers.append(timer)
        return timer

    def advance(self, ms: int) -> None:
        for _ in range(ms):
            self.now += 1
            for timer in self.timers:
                if timer.active and timer.deadline <= self.now:
                    timer.active = False  # single shot, as the scheduler's timers are
                    for slot in list(timer.slots):
                        slot()


class _Timer:
    def __init__(self, clock: _Clock, interval_ms: int) -> None:
        self.clock, self.interval, self.active, self.deadline, self.slots = clock, interval_ms, False, 0, []
        self.timeout = self  # timer.timeout.connect(slot)

    def connect(self, slot) -> None:
        self.slots.append(slot)

    def start(self) -> None:  # (re)starts, as QTimer.start does
        self.active, self.deadline = True, self.clock.now + self.interval

    def stop(self) -> None:
        self.active = False

    def isActive(self) -> bool:  # noqa: N802
        return self.active


class _Submissions:
    """The scheduler's job list, recording what it is asked to paint (nothing runs, nothing lands)."""

    def __init__(self) -> None:
        self.drafts: list[int] = []  # simulated time of each draft paint submitted
        self.full: list[int] = []
        self.clock: _Clock | None = None

    def running_job(self, key):
        return None

    def submit(self, key, make_job, cancel_running=True) -> None:
        job = make_job()
        (self.drafts if job.draft else self.full).append(self.clock.now)

    def cancel(self, key) -> None:
        pass


def test_a_steady_drag_paints_drafts_every_throttle_period_not_once_it_stops(qtbot):
    """Deterministic (a simulated clock drives the scheduler's timers): a change every 10 ms for a second
    with the hand down paints a draft at once and then one every THROTTLE_MS. A debounce (a timer
    restarted by every change) paints nothing until the changes stop, and fails here."""
    from test_document import photo_doc

    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer
    from stylefuse_desktop.ui.engine_jobs import EngineOptions
    from stylefuse_desktop.ui.paint_scheduler import THROTTLE_MS, PaintScheduler

    clock, jobs = _Clock(), _Submissions()
    jobs.clock = clock
    scheduler = PaintScheduler(jobs, lambda: 1.0, EngineOptions, timer=clock.timer)
    doc = photo_doc(16, 12)
    layer = doc.add_layer(StyleLayer(styles=(StyleEntry(StyleRef("builtin", "Red Lacquer")),)))
    scheduler.set_document(doc)
    scheduler.set_engine_ready()
    clock.advance(1)
    jobs.full.clear()  # the opening paint
    doc.history.begin_gesture("Strength")  # the hand goes down
    for step in range(100):  # never a pause as long as the throttle period
        doc.set(layer.id, "strength", 1.0 - (step + 1) / 200)
        clock.advance(10)
    assert scheduler.interacting and not jobs.full
    assert jobs.drafts and jobs.drafts[0] <= clock.now - 990  # the first change paints at once
    gaps = [b - a for a, b in zip(jobs.drafts, jobs.drafts[1:])]
    assert len(jobs.drafts) >= 1000 // THROTTLE_MS and all(THROTTLE_MS <= g <= THROTTLE_MS + 10 for g in gaps)
    doc.history.end_gesture()  # the hand comes up: full quality at once
    clock.advance(1)
    assert not scheduler.interacting and len(jobs.full) == 1


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


def test_a_click_in_the_history_list_goes_back_to_that_step(qtbot, window):
    layer = window.doc.layers[0]
    window.doc.set(layer.id, "opacity", 0.5)
    window.doc.set(layer.id, "name", "renamed")
    window._docks["History"].raise_()  # tabbed behind Fusion
    history = window.history_list
    assert history.count() == 2
    first_step = history.visualItemRect(history.item(0)).center()
    qtbot.mouseClick(history.viewport(), Qt.MouseButton.LeftButton, pos=first_step)
    assert (layer.opacity, layer.name) == (0.5, "cat")  # the rename is undone, the opacity stays
    assert window.redo_action.isEnabled() and history.currentRow() == 0


def test_the_recent_files_menu_lists_opened_files_and_reopens_one(qtbot, window, photo_path, tmp_path):
    other = tmp_path / "dog.png"
    Image.open(photo_path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    assert window.open_path(str(other))
    entries = [a for a in window.recent_menu.actions() if a.text()]
    assert [a.text() for a in entries] == ["dog.png", "cat.png"]  # newest first
    assert window.doc.title == "dog"
    entries[1].trigger()
    assert window.doc.title == "cat"
    assert [a.text() for a in window.recent_menu.actions() if a.text()] == ["cat.png", "dog.png"]


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


def test_choosing_save_in_the_unsaved_changes_box_saves_and_goes_on(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from stylefuse_desktop.document.project import load_project

    window.doc.set(window.doc.layers[0].id, "opacity", 0.5)  # an unsaved edit
    window.doc.path = tmp_path / "kept.sfproj"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    assert window.confirm_discard()  # the save runs in a worker; the answer waits for it
    assert window.doc.history.is_clean
    assert load_project(tmp_path / "kept.sfproj")[0].layers[0].opacity == 0.5


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


def _picker_waits_on(picker) -> list[str]:
    """The styles whose rows still show the turning spinner."""
    return [i.data(Qt.ItemDataRole.UserRole) for i in picker.items()
            if i.data(Qt.ItemDataRole.UserRole) not in picker.thumbnails
            and i.data(Qt.ItemDataRole.UserRole) not in picker.failed]


def test_a_thumbnail_that_never_arrives_shows_why_instead_of_spinning(qtbot, window, monkeypatch):
    """A failed or cancelled thumbnail job left its styles' spinners turning for ever."""
    import time

    from stylefuse_desktop.document.thumbnail_cache import ThumbnailCache
    from stylefuse_desktop.errors import Cancelled
    from stylefuse_desktop.ui import engine_jobs

    picker = window.style_picker
    qtbot.waitUntil(lambda: window.engine_ready and not window.jobs.busy("thumbnails"), timeout=PAINT_TIMEOUT)
    monkeypatch.setattr(ThumbnailCache, "get", lambda self, key: None)  # nothing comes from the disk cache
    spinner = picker._spinner(0).pixmap(48, 48).toImage()

    def no_gpu(*args, **kwargs):
        raise RuntimeError("the device is gone")

    monkeypatch.setattr(engine_jobs, "style_thumbnails", no_gpu)
    picker.forget_thumbnails()  # a new photo: every thumbnail is asked for again, and the job fails
    qtbot.waitUntil(lambda: not _picker_waits_on(picker) and not picker._spinning.isActive(), timeout=10_000)
    item = picker.items()[0]
    assert item.icon().pixmap(48, 48).toImage() != spinner
    assert "No preview" in item.toolTip() and "Style previews failed (RuntimeError)" in item.toolTip()

    # one style that cannot paint: only its row says so; the others get their thumbnails
    bad = item.data(Qt.ItemDataRole.UserRole)
    monkeypatch.setattr(engine_jobs, "style_thumbnails", lambda rgb, refs, options, progress: (
        [(r.key, np.full((20, 30, 3), 0.5, np.float32)) for r in refs if r.key != bad], [(bad, "damaged weights")]))
    picker.forget_thumbnails()
    qtbot.waitUntil(lambda: not _picker_waits_on(picker) and not picker._spinning.isActive(), timeout=10_000)
    assert list(picker.failed) == [bad] and "damaged weights" in picker.items()[0].toolTip()
    assert all(i.data(Qt.ItemDataRole.UserRole) in picker.thumbnails for i in picker.items()[1:])

    # cancelled (the Cancel button): the rows stop spinning too; the next photo asks again
    started = []

    def until_cancelled(rgb, refs, options, progress):  # runs in the worker thread
        started.append(True)
        while not progress.cancelled:
            time.sleep(0.01)
        raise Cancelled()

    monkeypatch.setattr(engine_jobs, "style_thumbnails", until_cancelled)
    picker.forget_thumbnails()
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    window.cancel_work()
    qtbot.waitUntil(lambda: not _picker_waits_on(picker) and not picker._spinning.isActive(), timeout=10_000)
    assert "cancelled" in picker.items()[0].toolTip()


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
    assert broken.id in window.painter.failures and window.layers_panel.failures is window.painter.failures
    assert "⚠" in window.layers_panel._rows[broken.id].title.text()
    assert window.renders.get(good.id, window.canvas.proxy_scale).signature == window.doc.signature(good)
    assert "Broken" in window.message_bar.label.text()
    assert any("Broken" in r.getMessage() for r in caplog.records)


def test_closing_during_training_returns_within_two_seconds(qtbot, window, tmp_path):
    import time

    from stylefuse_desktop.training.synthetic import texture_style_set

    (tmp_path / "art").mkdir()
    for i, img in enumerate(texture_style_set(2, side=96)):
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / "art" / f"a{i}.png")
    dialog = window.train_dialog()
    dialog.styles.edit.setText(str(tmp_path / "art"))
    dialog.styles.scan()
    dialog.name.setText("Long run")
    dialog.steps.setValue(5000)
    job = dialog.begin()
    assert window.jobs.running_job("training") is job  # the training is in the window's job list
    steps = []
    job.progress.observed.connect(lambda e: steps.append(e.step))
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=PAINT_TIMEOUT)
    window.doc.history.mark_clean()
    started = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"closing took {elapsed:.1f} s"
    assert job.progress.cancelled


def _window_without_fixture(qtbot, tmp_path, monkeypatch, answers: dict):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    app = QApplication.instance()
    app.setOrganizationName("StyleFuseTests")
    app.setApplicationName("StyleFuse")
    asked = []

    def question(parent, title, *args, **kwargs):
        asked.append(title)
        return answers[title]

    monkeypatch.setattr(QMessageBox, "question", question)
    from stylefuse_desktop.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    return win, asked


def test_recovered_work_keeps_its_name_and_quitting_asks_to_save(qtbot, tmp_path, monkeypatch, photo_path):
    from PySide6.QtWidgets import QMessageBox

    from stylefuse_desktop import locations
    from stylefuse_desktop.document.autosave import Autosaver
    from stylefuse_desktop.document.image_io import read_image
    from stylefuse_desktop.document.operations import document_from_photo

    crashed = Autosaver(locations.data_dir() / "autosave", pid=2**22 + 12345)  # no such process: a crash
    crashed.start()
    doc = document_from_photo(read_image(photo_path), "cat")
    doc.path = tmp_path / "holiday.sfproj"
    doc.set(doc.layers[0].id, "opacity", 0.5)
    crashed.save(doc)
    answers = {"Recover your work?": QMessageBox.StandardButton.Yes,
               "Unsaved changes": QMessageBox.StandardButton.Cancel}
    win, asked = _window_without_fixture(qtbot, tmp_path, monkeypatch, answers)
    win.show()
    win.start([])
    assert win.doc.path == tmp_path / "holiday.sfproj" and win.doc.layers[0].opacity == 0.5
    assert "holiday.sfproj •" in win.windowTitle() and not win.doc.history.is_clean
    assert not win.close()  # Ctrl+Q: asked to save, the user cancels, the window stays
    assert asked == ["Recover your work?", "Unsaved changes"] and win.isVisible()
    assert win.autosaver.project.is_file()  # the work is still recoverable
    answers["Unsaved changes"] = QMessageBox.StandardButton.Discard
    assert win.close()


UI_THREAD_IMPORTS = """
import builtins, sys, threading
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication([])
from stylefuse_desktop.ui.main_window import MainWindow
w = MainWindow(); w.show(); w.start([sys.argv[1]])
seen = []
real_import = builtins.__import__
def watching(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.split(".")[0] in ("torch", "torchvision") and threading.current_thread() is threading.main_thread():
        seen.append(name)
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = watching  # from here on: after start-up
def wait_for(condition, ms=120_000):
    for _ in range(ms // 50):
        if condition():
            return True
        QTest.qWait(50)
    return False
assert wait_for(lambda: w.engine_ready, 300_000)  # a cold start converts the weights: minutes on a busy 2-core machine
dialog = w.train_dialog()
dialog.styles.edit.setText(sys.argv[2]); dialog.styles.scan()  # a style folder: the form is ready
QTest.keyClicks(dialog.name, "My style")  # the Name field: its checkpoint check must not run here
QTest.qWait(600)
wait_for(lambda: not w.jobs.busy())
from stylefuse_desktop.document.layers import StyleRef
w.apply_style(StyleRef("builtin", "Red Lacquer"))
wait_for(lambda: not w.stale_layers(draft=False) and not w.jobs.busy())
slider = w.fusion_panel.strength
slider.setSliderDown(True); slider.setValue(40); slider.setSliderDown(False)
wait_for(lambda: not w.stale_layers(draft=False) and not w.jobs.busy())
w.doc.history.mark_clean(); dialog.close(); w.close()
print("UI-THREAD-IMPORTS", sorted(set(seen)))
"""


def test_the_ui_thread_never_imports_torch_after_start_up(tmp_path, photo_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STYLEFUSE_DATA_DIR": str(tmp_path / "data"),
           "STYLEFUSE_CONFIG_DIR": str(tmp_path / "config")}
    art = tmp_path / "art"
    art.mkdir()
    for i in range(2):
        Image.open(photo_path).rotate(90 * i).save(art / f"a{i}.png")
    out = subprocess.run([sys.executable, "-c", UI_THREAD_IMPORTS, str(photo_path), str(art)], capture_output=True,
                         text=True, env=env, timeout=600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("UI-THREAD-IMPORTS")), None)
    assert line is not None, out.stderr[-2000:]
    assert line == "UI-THREAD-IMPORTS []", line


def test_missing_window_libraries_are_named_with_their_packages(monkeypatch, capsys):
    from stylefuse_desktop import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}

    def load(name):
        if name in absent:
            raise OSError(f"{name}: cannot open shared object file")

    assert app.missing_window_libraries(load) == ["libxcb-icccm4", "libxcb-keysyms1"]
    monkeypatch.setattr(app, "missing_window_libraries", lambda: ["libxcb-icccm4", "libxcb-keysyms1"])
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert "libxcb-icccm4, libxcb-keysyms1" in err and "apt install" in err


def test_training_dialog_keeps_its_layout_when_a_folder_is_accepted_and_draws_axes(qtbot, tmp_path, photo_path):
    from stylefuse_desktop.ui.train_dialog import QtTrainDialog

    dialog = QtTrainDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    field = dialog.styles
    before = (field.height(), dialog.chart.geometry())
    (tmp_path / "art").mkdir()
    for i in range(3):
        Image.open(photo_path).save(tmp_path / "art" / f"a{i}.png")
    field.edit.setText(str(tmp_path / "art"))
    field.scan()
    qtbot.wait(50)
    assert field.count == 3 and (field.height(), dialog.chart.geometry()) == before  # nothing jumped
    chart = dialog.chart
    chart.add({"loss": 1.0})
    chart.add({"loss": 0.5})
    image = chart.grab().toImage()
    background = image.pixelColor(chart.width() // 2, 2)
    left = next(x for x in range(chart.width()) if image.pixelColor(x, chart.height() // 2) != background)
    column = [image.pixelColor(left, y) != background for y in range(10, chart.height() // 2)]
    assert all(column), "no y axis drawn"


def test_closing_mid_paint_returns_quickly_with_every_worker_stopped(qtbot, window, tmp_path, capfd):
    """Issue 11: closing while a big photo paints cancels the paint and waits (bounded) for its worker,
    so nothing runs on to emit into the window's deleted objects, and no traceback is printed."""
    import time

    from skimage import data

    path = tmp_path / "big.png"
    Image.fromarray(data.chelsea()).resize((2400, 1800)).save(path)
    window.canvas.proxy_side = 2400  # paint the whole photo: long enough to close in the middle
    window.open_path(str(path))
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=PAINT_TIMEOUT)
    reports = []
    window.jobs.started.connect(lambda job: job.progressed.connect(lambda f, m: reports.append(f)))
    window.apply_style(StyleRef("builtin", "Red Lacquer"))
    qtbot.waitUntil(lambda: len(reports) >= 2, timeout=PAINT_TIMEOUT)  # the paint is under way
    job = window.painter.jobs.running_job("paint")
    assert job is not None
    capfd.readouterr()
    window.doc.history.mark_clean()
    started = time.perf_counter()
    assert window.close()
    elapsed = time.perf_counter() - started
    assert job.progress.cancelled and not job.running  # its worker ended before close returned
    assert job._worker.ended.is_set()
    qtbot.wait(50)
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Traceback" not in err, err
    assert elapsed < 2.0, f"closing took {elapsed:.1f} s"


def test_a_job_outliving_the_application_ends_without_a_traceback(qtbot, capfd):
    """A job abandoned at closing may finish while the application deletes its QObjects: superqt's emits
    then find their source gone, which must end the worker quietly, not print tracebacks."""
    import threading

    import shiboken6

    from stylefuse_desktop.ui.workers import Job

    started, release = threading.Event(), threading.Event()

    def work(progress):
        started.set()
        return release.wait(10) and "painted"

    job = Job("Painting", work).start()
    qtbot.waitUntil(started.is_set)
    capfd.readouterr()
    shiboken6.delete(job._worker.signals)  # what the application's teardown does to a live worker's signals
    release.set()
    assert job._worker.ended.wait(10)
    qtbot.wait(100)  # Qt prints an exception escaping run() just after run() is over
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Traceback" not in err, err


def test_an_unreadable_user_style_is_named_in_the_message_bar(qtbot, tmp_path, monkeypatch):
    """A damaged .sfstyle in the user styles folder is skipped (the others still list) and the user is
    told which file, in one line, not only in the log."""
    from stylefuse_desktop import locations
    from stylefuse_desktop.document.style_file import StyleFile, style_to_bytes

    folder = locations.user_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Mine.sfstyle").write_bytes(style_to_bytes(StyleFile("Mine", "embedding",
                                                                    {"embedding": np.ones(100, np.float32)})))
    (folder / "broken.sfstyle").write_bytes(b"PK\x03\x04 not a style at all")
    win, _ = _window_without_fixture(qtbot, tmp_path, monkeypatch, {})
    assert [i.text() for i in win.style_picker.items() if i.text() == "Mine"] == ["Mine"]
    text = win.message_bar.label.text()
    assert not win.message_bar.isHidden()
    assert "broken.sfstyle" in text and "Mine" not in text and "\n" not in text, text
    (folder / "broken.sfstyle").unlink()  # fixed by the user: the next scan says nothing more
    seen = []
    win.style_picker.files_skipped.connect(seen.append)
    win.style_picker.reload()
    assert seen == [] and win.style_picker.skipped == []
