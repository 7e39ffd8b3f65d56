"""Giving freed memory back to the operating system.

The engine keeps glibc from returning large blocks on every free (it would page-fault them in again on
the next tile); after a whole-image tensor or a decoded photo is dropped, ``release_memory`` hands the
free heap back at once, so the resident size follows what is alive, not the high-water mark.
"""

from __future__ import annotations

import ctypes
import sys


def release_memory() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
