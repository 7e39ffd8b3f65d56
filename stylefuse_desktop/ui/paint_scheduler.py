"""Keeping the paintings of style and fusion layers up to date: the one place that decides what to
paint, when, and at what quality.

The scheduler owns the render store of the open document. It listens to the document: a change that
alters pixels asks for a paint. The first request paints at once; while a gesture is open (a slider or
the move tool held, ``History.gesture_changed``) it paints drafts at most every ``THROTTLE_MS``, and a
new draft waits for the running one to land rather than cancelling it, so a steady drag keeps showing
previews. When the gesture ends, full quality follows at once (cancelling a running draft). What is
stale is decided by ``operations.stale_layers`` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..document.compositor import Box, Painted, RenderStore
from ..document.document import Document
from ..document.operations import stale_layers
from . import engine_jobs
from .engine_jobs import EngineOptions
from .workers import Job, LatestOnly

log = logging.getLogger(__name__)

THROTTLE_MS = 120  # while dragging: at most one new preview request this often
PAINT_KEY = "paint"
VIEW_KEY = "view"  # the real pixels of the canvas's view (at zoom past the proxy's scale)


def single_shot_timer(parent: QObject, interval_ms: int) -> QTimer:
    return QTimer(parent, singleShot=True, interval=interval_ms)


class PaintScheduler(QObject):
    painted = Signal(list)  # ids of the layers whose paintings just landed
    layer_failed = Signal(str, str)  # layer id, message (the layer keeps its last painting)
    failed = Signal(object, object)  # job, exception: a whole paint job failed

    def __init__(self, jobs: LatestOnly, scale: Callable[[], float], options: Callable[[], EngineOptions],
                 parent: QObject | None = None, timer: Callable[[QObject, int], QTimer] = single_shot_timer) -> None:
        """``timer(parent, interval_ms)`` makes the single-shot timers (tests give a clock of their own)."""
        super().__init__(parent)
        self.jobs = jobs
        self._scale = scale  # the canvas's proxy scale, read when a paint is submitted
        self._options = options
        self.doc: Document | None = None
        self.renders = RenderStore()
        self.engine_ready = False
        self.failures: dict[str, str] = {}  # layer id -> why its last paint failed
        self.submitted = 0  # paint jobs submitted (tests and benchmarks count them)
        self.view_jobs = 0  # view jobs submitted
        self._held: dict = {}  # the view jobs' full-size paintings by layer id (engine objects; jobs only)
        self._pending = False
        self._soon = timer(self, 0)  # one request per event-loop turn
        self._soon.timeout.connect(self._submit)
        self._throttle = timer(self, THROTTLE_MS)
        self._throttle.timeout.connect(self._throttle_ended)

    # -- the document ------------------------------------------------------------------------------
    def set_document(self, doc: Document | None, renders: RenderStore | None = None) -> None:
        if self.doc is not None:
            self.doc.layers_changed.disconnect(self.request)
            self.doc.pixels_changed.disconnect(self.request)
            self.doc.history.gesture_changed.disconnect(self._gesture_changed)
        self.cancel()
        self.doc = doc
        self.renders = renders or RenderStore()
        self.failures.clear()
        self._held = {}  # a new document: the last one's paintings go (a running job keeps its own)
        if doc is not None:
            doc.layers_changed.connect(self.request)
            doc.pixels_changed.connect(self.request)
            doc.history.gesture_changed.connect(self._gesture_changed)
        self.request()

    @property
    def interacting(self) -> bool:
        """A gesture is open (a slider or a tool held): paint drafts."""
        return self.doc is not None and self.doc.history.in_gesture

    def _gesture_changed(self, on: bool) -> None:
        if not on:  # the hand is up: full quality now
            self._throttle.stop()
            self._pending = False
            self._soon.start()

    def set_engine_ready(self) -> None:
        self.engine_ready = True
        self.request()

    # -- requests ----------------------------------------------------------------------------------
    def request(self) -> None:
        """Something changed: paint at once, or at the end of the throttle period while dragging."""
        if self._throttle.isActive():
            self._pending = True
        else:
            self._soon.start()

    def _throttle_ended(self) -> None:
        if self._pending:
            self._pending = False
            self._submit()

    def stale_layers(self, draft: bool) -> list[str]:
        if self.doc is None:
            return []
        return stale_layers(self.doc, self.renders, self._scale(), draft_ok=draft)

    def _submit(self) -> None:
        draft = self.interacting
        if draft:
            self._throttle.start()
        self.paint(draft)

    def paint(self, draft: bool) -> Job | None:
        """Submit a paint of the stale layers at the canvas's scale (None when nothing is stale)."""
        if self.doc is None or not self.engine_ready:
            return None
        stale = self.stale_layers(draft)
        if not stale:
            return None
        doc, renders, scale = self.doc, self.renders, self._scale()
        snapshot = doc.snapshot()
        failures: dict[str, str] = {}
        job = Job("Previewing" if draft else "Painting", engine_jobs.paint_layers, snapshot, stale, renders, scale,
                  draft, self._options(), failures=failures)
        job.quiet = draft  # a draft shows no progress bar: it lands in a moment
        job.draft = draft
        job.succeeded.connect(lambda results: self._landed(doc, renders, draft, results, stale, failures))
        job.failed.connect(lambda exc: self.failed.emit(job, exc))
        running = self.jobs.running_job(PAINT_KEY)
        # a draft lets a running draft land (no starving); full quality replaces anything older
        cancel = not (draft and running is not None and running.draft)
        self.submitted += 1
        self.jobs.submit(PAINT_KEY, lambda: job, cancel_running=cancel)
        return job

    def _landed(self, doc: Document, renders: RenderStore, draft: bool, results: list[tuple[str, Painted]],
                asked: list[str], failures: dict[str, str]) -> None:
        if doc is not self.doc:
            return  # a result for a document that is no longer open
        for layer_id, item in results:
            renders.put(layer_id, Painted(item.rgba, item.scale, item.signature, draft))
        for layer_id in asked:
            if layer_id in failures:
                self.failures[layer_id] = failures[layer_id]
                self.layer_failed.emit(layer_id, failures[layer_id])
            elif layer_id in self.failures:
                del self.failures[layer_id]
                self.layer_failed.emit(layer_id, "")  # painted again: the marker goes
        self.painted.emit([layer_id for layer_id, _ in results])

    # -- the view's real pixels ------------------------------------------------------------------------
    def paint_view(self, box: Box, landed: Callable[[Box, np.ndarray], None],
                   skip: frozenset = frozenset(), step: int = 1) -> Job | None:
        """Paint the export around ``box`` (full-size canvas pixels) in the background, tile by tile at
        1/``step`` of full resolution, replacing any view job still running; ``landed(tile box, rgba)``
        gets each tile as it is made (none once the document changed), except the tiles in ``skip``,
        already shown."""
        if self.doc is None or not self.engine_ready:
            return None
        doc = self.doc
        job = Job("Sharpening the view", engine_jobs.paint_view, doc.snapshot(), box, self.renders, self._held,
                  self._options(), skip=skip, step=step)
        job.quiet = True
        job.yielded.connect(lambda tile: landed(*tile) if doc is self.doc else None)
        job.failed.connect(lambda exc: self.failed.emit(job, exc))
        self.view_jobs += 1
        self.jobs.submit(VIEW_KEY, lambda: job)
        return job

    def cancel_view(self, release: bool = False) -> None:
        """Stop painting the view; ``release``: the canvas shows the proxy only now, so the full-size
        paintings kept for views go too (~300 MB a style layer on a 24 MP photo)."""
        self.jobs.cancel(VIEW_KEY)
        if release:
            self._held = {}  # a job still running keeps (and drops) its own

    def cancel(self) -> None:
        self.jobs.cancel(VIEW_KEY)
        self._soon.stop()
        self._throttle.stop()
        self._pending = False
        self.jobs.cancel(PAINT_KEY)
