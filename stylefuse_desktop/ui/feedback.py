"""How a panel reports an edit the document refused (a locked layer, a value out of range)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from ..errors import StyleFuseError


def attempt(widget: QWidget, edit: Callable[[], object]) -> bool:
    """Run ``edit``; if it is refused, say why in the window's message bar and return False."""
    try:
        edit()
        return True
    except StyleFuseError as exc:
        window = widget.window()
        if hasattr(window, "show_message"):
            window.show_message(str(exc), error=True)
        return False


def user_message(exc: BaseException, action: str) -> str:
    """Any failure as one line for the status bar: our own messages as they are, everything else
    without internals (tensor keys, C++ allocation text, tracebacks)."""
    from ..document.user_files import one_line

    if isinstance(exc, StyleFuseError):
        return one_line(exc)
    if is_out_of_memory(exc):
        return f"{action}: not enough memory. Your document is unchanged."
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return one_line(f"{action}: {where}{exc.strerror or type(exc).__name__}. Your document is unchanged.")
    return f"{action} failed ({type(exc).__name__}). Your document is unchanged."


def is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or any(w in text for w in ("out of memory", "bad_alloc", "allocate"))
