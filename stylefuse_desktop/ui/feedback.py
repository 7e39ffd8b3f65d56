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
