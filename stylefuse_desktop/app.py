"""``stylefuse-desktop [PHOTO_OR_PROJECT...]``: the editor. The window shows before torch is imported;
the engine starts in a worker thread while the user looks at their photo."""

from __future__ import annotations

import argparse
import sys
import time

from . import __version__

_STARTED = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="stylefuse-desktop", description="StyleFuse: turn your photos into art.")
    parser.add_argument("paths", nargs="*", help="photos or .sfproj projects to open (the first opens, the rest "
                                                  "become layers)")
    parser.add_argument("--version", action="version", version=f"StyleFuse {__version__}")
    parser.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)  # docs and tests
    args = parser.parse_args(argv)

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
    shown = time.perf_counter() - _STARTED
    window.startup_seconds = shown
    QTimer.singleShot(0, lambda: window.start(args.paths))
    if args.screenshot:
        def grab() -> None:
            window.grab().save(args.screenshot)
            app.quit()

        window.painted.connect(lambda: QTimer.singleShot(300, grab))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
