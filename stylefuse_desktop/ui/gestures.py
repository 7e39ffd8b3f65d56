"""One gesture API for every control: a held slider is one undo step and one "interacting" period.

The slider's press begins a gesture on the document's history and its release ends it; keyboard steps
and wheel turns (no press) are one step each. The paint scheduler hears ``history.gesture_changed`` and
paints drafts while a gesture is open, so no panel has to tell the window that it is being dragged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QAbstractSlider

from ..document.document import Document


def track_drags(slider: QAbstractSlider, document: Callable[[], Document | None], text: str | None = None) -> None:
    """Make every drag of ``slider`` one gesture on the current document's history."""
    held: list[Document] = []  # the document the press began a gesture on (it may change mid-drag)

    def pressed() -> None:
        doc = document()
        if doc is not None:
            doc.history.begin_gesture(text)
            held.append(doc)

    def released() -> None:
        while held:
            held.pop().history.end_gesture()

    slider.sliderPressed.connect(pressed)
    slider.sliderReleased.connect(released)
