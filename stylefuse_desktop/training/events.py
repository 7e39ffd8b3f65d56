"""What a training run tells whoever watches it (the CLI's bar, the dialog's curves), besides
the plain ``report(fraction, message)`` of every long job."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..progress import Progress


@dataclass(frozen=True)
class TrainingEvent:
    step: int
    total: int
    losses: dict[str, float]
    seconds: float  # since the start (of this session, when resumed)
    eta_seconds: float
    preview: np.ndarray | None = None  # [H, W, 3] float32: the current style/look on a photo


def emit(progress: Progress, event: TrainingEvent) -> None:
    """Send ``event`` to a progress object that wants events (``observe``), and the bar in any case."""
    observe = getattr(progress, "observe", None)
    if observe is not None:
        observe(event)
    loss_text = ", ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
    progress.report(event.step / event.total, f"step {event.step}/{event.total} · {loss_text}")


def wait_while_paused(progress: Progress) -> None:
    """A progress object with ``paused`` True holds the run here (still cancellable)."""
    import time

    while getattr(progress, "paused", False) and not progress.cancelled:
        time.sleep(0.05)
