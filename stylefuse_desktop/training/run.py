"""What both trainers share: the loop (pause, cancel, progress, previews, checkpoints), the result,
where it is saved, and one entry point for the CLI and the dialog: ``train(config, progress)``.

A trainer supplies a ``step()`` that does one optimisation step and returns its losses; the loop does
everything around it. Losses come back as tensors and are read (a device synchronisation) only when
reported; previews are painted at most every ``PREVIEW_SECONDS``, small, so they never hold the loop up.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from .. import locations
from ..document.image_io import resize_array, to_uint8
from ..document.style_catalogue import slug as catalogue_slug
from ..document.style_file import StyleFile, write_style_file
from ..document.user_files import JsonObject
from ..progress import NullProgress, Progress
from .checkpoint import Checkpoints
from .events import TrainingEvent, emit, wait_while_paused

if TYPE_CHECKING:
    from .config import PairsTrainingConfig, StyleTrainingConfig, TrainingConfig

PREVIEW_SECONDS = 2.0
# a periodic checkpoint (a crash loses the steps since) at most this often: on a GPU 25 steps take about
# a second, and each checkpoint (weights and optimiser state to disk, synced) ~35 ms
CHECKPOINT_SECONDS = 10.0
PREVIEW_SIDE = 192
REPORT_EVERY_CUDA = 10  # steps between loss read-backs on a GPU (each one waits for the GPU)


@dataclass
class TrainResult:
    style: StyleFile  # what training produced
    path: Path | None
    metrics: JsonObject  # what was measured (written into the style file's manifest)
    steps_done: int
    cancelled: bool
    seconds: float
    skipped: list[str] = field(default_factory=list)
    # the quality gate (styles from pictures): the instant style to keep when training did not beat it
    zero_shot: StyleFile | None = None
    verdict: str = "closer"  # "closer", or why the trained style is not the result ("not_closer", ...)
    advice: str = ""  # one clear line for the user when the verdict is not "closer"
    saved: str = "trained"  # what save_result wrote: "trained" or "zero_shot"

    @property
    def beats_zero_shot(self) -> bool:
        return self.verdict == "closer"


def slug(name: str) -> str:
    """A style's file name: the catalogue's one slug (a name of symbols alone gives "style")."""
    return catalogue_slug(name) or "style"


def output_path(config: TrainingConfig) -> Path:
    return Path(config.output) if config.output else locations.user_styles_dir() / f"{slug(config.name)}.sfstyle"


def checkpoint_dir_for(config: TrainingConfig) -> Path:
    return locations.data_dir() / "training" / slug(config.name)


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


def small(rgb: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return resize_array(rgb, (max(8, round(w * scale)), max(8, round(h * scale))))


def adam(params: Iterable[torch.nn.Parameter] | list[dict[str, Any]], lr: float, betas: tuple[float, float],
         device: torch.device, capturable: bool = False) -> torch.optim.Adam:
    """Adam as both trainers use it: on CUDA the fused kernel (one launch for all parameters; a training
    step of these small networks is bound by launches there), elsewhere torch's default. ``capturable``:
    its step runs inside a CUDA graph (``cuda_graph``), so its step sizes are tensors on the device, which
    ``set_step_size`` fills in place."""
    optimizer = torch.optim.Adam(params, lr=lr, betas=betas, fused=True if device.type == "cuda" else None,
                                 capturable=capturable)
    if capturable:
        for group in optimizer.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=device)
    return optimizer


def set_step_size(group: dict[str, Any], rate: float) -> None:
    """An optimizer group's step size: in place where it is a tensor that a captured step reads."""
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(rate)
    else:
        group["lr"] = rate


def run_loop(progress: Progress, step: int, total: int, train_step: Callable[[], dict[str, torch.Tensor]],
             preview: Callable[[], np.ndarray], checkpoint: Callable[[int], None], checkpoint_every: int,
             device: torch.device) -> tuple[int, bool]:
    """Call ``train_step`` until ``total`` steps are done or the run is cancelled; -> (step, cancelled).
    ``checkpoint`` is called every ``checkpoint_every`` steps, but no more often than every
    ``CHECKPOINT_SECONDS`` (a cancelled run's trainer saves its own, whenever it stops)."""
    session_start, session_first = time.perf_counter(), step
    last_preview = -np.inf
    last_checkpoint = session_start
    report_every = REPORT_EVERY_CUDA if device.type == "cuda" else 1
    while step < total:
        wait_while_paused(progress)
        if progress.cancelled:
            return step, True
        losses = train_step()
        step += 1
        if step % report_every and step != total:
            continue
        now = time.perf_counter()
        elapsed = now - session_start
        eta = elapsed / max(1, step - session_first) * (total - step)
        image = None
        if now - last_preview >= PREVIEW_SECONDS or step == total:
            image, last_preview = preview(), now
        emit(progress, TrainingEvent(step, total, {k: float(v) for k, v in losses.items()}, elapsed, eta, image))
        if step % checkpoint_every == 0 and step < total and now - last_checkpoint >= CHECKPOINT_SECONDS:
            checkpoint(step)
            last_checkpoint = time.perf_counter()
    return step, False


def train(config: StyleTrainingConfig | PairsTrainingConfig, progress: Progress = NullProgress(),
          resume: bool = False) -> TrainResult:
    """Train what ``config`` asks for (a style from pictures, or a look from pairs): the one call the
    CLI and the dialog make. Save the result with ``save_result``."""
    from .config import StyleTrainingConfig

    if isinstance(config, StyleTrainingConfig):
        from .style_trainer import train_style

        return train_style(config, progress, resume=resume)
    from .pairs_trainer import train_pairs

    return train_pairs(config, progress, resume=resume)


def save_result(result: TrainResult, config: TrainingConfig, clear_checkpoint: bool = True,
                keep_worse: bool = False) -> TrainResult:
    """Write the style file (atomically); the run's checkpoint goes once the style is safe. A trained
    style that the quality gate found no closer than the instant one is not saved as the result: the
    instant (zero-shot) style is, unless ``keep_worse``; its run's checkpoint stays, so a longer preset
    can continue it ("train longer")."""
    style = result.style
    result.saved = "trained"
    if not result.beats_zero_shot and result.zero_shot is not None and not keep_worse:
        style, result.saved = result.zero_shot, "zero_shot"
    path = write_style_file(output_path(config), style)
    if clear_checkpoint and not result.cancelled and result.beats_zero_shot:
        Checkpoints(checkpoint_dir_for(config)).clear()
    result.path = path
    return result
