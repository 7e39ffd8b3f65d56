"""The bundle's entry point (PyInstaller freezes this script): start the editor."""

import sys

from stylefuse_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
