"""``stylefuse-desktop [PHOTO_OR_PROJECT...]``: the editor. The window shows before torch is imported;
the engine starts in a worker thread while the user looks at their photo."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from . import __version__

_STARTED = time.perf_counter()


# What Qt's xcb platform plugin loads on Linux (Debian/Ubuntu package names). Qt only names the first
# one it misses ("xcb-cursor0"), and a minimal system often lacks several.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
}


def missing_window_libraries(load: Callable[[str], object] | None = None) -> list[str]:
    """The packages of the X11 libraries the window needs that cannot be loaded (Linux with the xcb
    platform only; empty elsewhere)."""
    import ctypes
    import os

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb") or (
            not platform and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY")):
        return []
    load = load or ctypes.CDLL
    missing: list[str] = []
    for library, package in XCB_LIBRARIES.items():
        try:
            load(library)
        except OSError:
            missing.append(package)
    return missing


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="stylefuse-desktop", description="StyleFuse: turn your photos into art.")
    parser.add_argument("paths", nargs="*", help="photos or .sfproj projects to open (the first opens, the rest "
                                                  "become layers)")
    parser.add_argument("--version", action="version", version=f"StyleFuse {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window offscreen, paint the sample photo as the editor does, check it, exit")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)  # start-up timing
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()

    missing = missing_window_libraries()
    if missing:  # Qt would abort naming only the first; say all of them and how to get them
        sys.stderr.write("StyleFuse cannot open its window: these system libraries are missing: "
                         f"{', '.join(missing)}.\nInstall them, for example: sudo apt install {' '.join(missing)}\n")
        return 1

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("StyleFuse")
    app.setOrganizationName("StyleFuse")
    app.setApplicationVersion(__version__)

    from .ui.dialogs import Preferences
    from .ui.main_window import MainWindow, apply_theme

    apply_theme(Preferences.load().theme)
    window = MainWindow()
    window.show()
    QTimer.singleShot(0, _clean_own_leftovers)
    shown = time.perf_counter() - _STARTED
    window.startup_seconds = shown
    if args.quit_after_show:
        print(f"shown {shown:.3f} torch_imported={'torch' in sys.modules}", flush=True)
        return 0
    QTimer.singleShot(0, lambda: window.start(args.paths))
    return app.exec()


def _clean_own_leftovers() -> None:
    """Temporary files a killed render, save or training run left in our folders."""
    from . import locations
    from .document.atomic import clean_own_folders

    try:
        clean_own_folders([locations.data_dir(), locations.cache_dir()])
    except OSError:
        pass


def self_test(timeout: float = 600.0) -> int:
    """Open the main window offscreen, paint the sample photo with a built-in style through the same
    worker path the editor uses, check the pixels, print one line; 0 on success."""
    import os

    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("StyleFuse")
    app.setApplicationName("StyleFuse")
    from .document.layers import StyleRef
    from .document.style_catalogue import StyleKind
    from .ui.main_window import MainWindow

    def fail(reason: str) -> int:
        print(f"StyleFuse {__version__} self-test: FAILED: {reason}", flush=True)
        return 1

    started = time.perf_counter()
    window = MainWindow()
    window.show()
    window.start([])

    def spin(condition: Callable[[], object]) -> bool:
        """Run Qt's own event loop until ``condition`` holds or ``timeout`` passes (no Python-level
        processEvents loop: with PySide6 6.12 on CPython 3.11 each such call leaked a reference to None)."""
        loop = QEventLoop()
        check = QTimer(interval=20)
        check.timeout.connect(lambda: loop.quit() if condition() else None)
        deadline = QTimer(singleShot=True, interval=int(timeout * 1000))
        deadline.timeout.connect(loop.quit)
        if condition():
            return True
        check.start()
        deadline.start()
        loop.exec()
        check.stop()
        deadline.stop()
        return bool(condition())

    if window.doc is None:
        return fail("the sample photo did not open")
    # a message alone is no failure (a skipped unreadable style file is only a warning): wait for the warm-up job
    if not spin(lambda: window.engine_ready or not window.jobs.busy()) or not window.engine_ready:
        return fail(f"the style engine did not start: {window.message_bar.label.text() or 'timed out'}")
    before = window.canvas.current_pixels()
    painted: list[bool] = []
    window.painted.connect(lambda: painted.append(True))
    window.apply_style(StyleRef(StyleKind.BUILTIN, "Terracotta"))
    if not spin(lambda: painted and not window.jobs.busy()):
        return fail(f"the painting did not arrive: {window.message_bar.label.text() or 'timed out'}")
    window.canvas._recomposite()
    after = window.canvas.current_pixels()
    if before is None or after is None:
        return fail("the canvas shows nothing")
    change = float(np.abs(after.astype(np.float32) - before.astype(np.float32)).mean()) / 255
    width, height = window.doc.size
    window.doc.history.mark_clean()
    window.close()
    if not np.isfinite(change) or change < 0.02:
        return fail(f"the painted canvas barely differs from the photo (mean change {change:.4f})")
    print(f"StyleFuse {__version__} self-test: OK: painted the {width}x{height} sample photo with Terracotta "
          f"on {window.device_text} in {time.perf_counter() - started:.1f} s (mean change {change:.3f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
