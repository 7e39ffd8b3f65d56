"""Screenshots of the real window for the README and docs/ (run under a display, e.g. xvfb-run):

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshots.py

Drives the editor as a user would: the sample photo, a style from the picker, a second style painted
into the right half with the brush. Writes docs/screenshot-*.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from stylefuse_desktop.document.layers import StyleRef  # noqa: E402


def wait(app: QApplication, condition, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while not condition():
        if time.time() > end:
            raise TimeoutError("the editor did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def settle(app: QApplication, window) -> None:
    wait(app, lambda: not window.jobs.busy() and not window.stale_layers(draft=False))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    app = QApplication(sys.argv)
    app.setOrganizationName("StyleFuseScreenshots")
    app.setApplicationName("StyleFuse")
    from stylefuse_desktop.ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 940)
    window.show()
    window.start([])
    wait(app, lambda: window.engine_ready)
    wait(app, lambda: len(window.style_picker.thumbnails) >= 26)
    window.apply_style(StyleRef("builtin", "Cobalt Strokes"))
    settle(app, window)
    window.grab().save(str(DOCS / "screenshot-main.png"))

    picker = window._docks["Styles"]
    picker.grab().save(str(DOCS / "screenshot-style-picker.png"))

    # spatial fusion: a second style, painted into the right half with the brush
    window.apply_style(StyleRef("builtin", "Red Lacquer"))
    settle(app, window)
    window._docks["Fusion"].raise_()
    window.fusion_panel.rows[1].paint.setChecked(True)
    canvas = window.canvas
    canvas.set_brush_size(window.doc.width * 0.12)
    rect = canvas.image_rect()
    y0, y1 = rect.top() + rect.height() * 0.15, rect.bottom() - rect.height() * 0.1
    x = rect.left() + rect.width() * 0.78
    for row in range(6):
        y = int(y0 + (y1 - y0) * row / 5)
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.left() + rect.width() * 0.55), y))
        for step in range(12):
            QTest.mouseMove(canvas, QPoint(int(rect.left() + rect.width() * (0.55 + step * 0.04)), y))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(x), y))
    window.fusion_panel.rows[1].paint.setChecked(False)  # show the result without the brush overlay
    settle(app, window)
    window.grab().save(str(DOCS / "screenshot-fusion.png"))
    # training a style, mid-run
    import tempfile

    import numpy as np
    from PIL import Image

    from stylefuse_desktop.training.synthetic import texture_style_set

    folder = Path(tempfile.mkdtemp()) / "my-paintings"
    folder.mkdir()
    for i, img in enumerate(texture_style_set(6, side=384)):
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"painting-{i + 1}.png")
    dialog = window.train_dialog()
    dialog.resize(820, 660)
    dialog.styles.edit.setText(str(folder))
    dialog.styles.scan()
    dialog.name.setText("My Brushwork")
    job = dialog.begin()
    seen = []
    job.progress.observed.connect(lambda event: seen.append(event))
    # enough steps for the loss curves to show a trend, and a preview of the style being learnt
    wait(app, lambda: sum(e.preview is not None for e in seen) >= 3 and seen[-1].step >= 50, timeout=600)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    dialog.grab().save(str(DOCS / "screenshot-training.png"))
    dialog.stop()
    wait(app, lambda: not job.running)
    window.doc.history.mark_clean()
    window.close()
    print("wrote", *sorted(p.name for p in DOCS.glob("screenshot-*.png")))


if __name__ == "__main__":
    main()
