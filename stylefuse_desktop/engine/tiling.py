"""Run a network stage by stage over tiles, with whole-image normalisation statistics.

A network describes itself as stages (``Stage``): each maps the previous boundary tensor (the whole
image at some resolution, kept on the CPU) to the next, usually the input of a norm layer. A stage
runs tile by tile: each tile carries a halo of context wide enough for the stage's convolutions, and
only its centre is kept, so tiles join without seams. A tile at the image border keeps the border,
so the per-layer reflection padding there is the same as in an untiled run. While a stage runs, the
statistics of the norm layer it feeds are gathered over all tiles (``NormPlan``); the next stage
normalises with them. Low-resolution sections can run whole. Memory is bounded by the tile size
plus the boundary tensors, the largest of which has a few channels at the image's size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..errors import StyleFuseError
from ..memory import release_memory
from ..progress import NullProgress, Progress, raise_if_cancelled
from .device import free_device_memory
from .norm_plan import NormPlan, Region

log = logging.getLogger(__name__)

MIN_TILE = 64


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[torch.Tensor, Region], torch.Tensor]  # input tile -> output tile
    scale: float  # output size / input size (0.25, 0.5, 1 or 2)
    halo: int  # context needed around a tile, in input pixels
    collects: int | None = None  # the norm layer whose input this stage produces
    store: bool = True  # False: only gather statistics (the next stage recomputes this one)
    whole: bool = False  # run on the whole boundary at once (cheap low-resolution sections)
    cost: float = 1.0  # relative work per input pixel, for progress
    compact: bool = False  # its output may be kept in float16 when the image is large (statistics stay float32)


class TileOutOfMemory(Exception):
    """A tile did not fit in memory (raised by the OOM check, caught by the executor)."""


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError, TileOutOfMemory)):
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)


def _windows(size: int, tile: int, align: int, halo: int) -> Iterator[tuple[int, int, int, int]]:
    """(core start, core end, window start, window end) along one axis; starts aligned."""
    tile = max(align, tile // align * align)
    halo = -(-halo // align) * align
    for start in range(0, size, tile):
        end = min(size, start + tile)
        yield start, end, max(0, start - halo), min(size, end + halo)


def _alignment(scale: float) -> int:
    return max(1, round(1 / scale)) if scale < 1 else 1


@dataclass
class TiledRun:
    """Result and bookkeeping of one executor run (tile size actually used, tiles run)."""

    output: torch.Tensor
    tile: int
    tiles: int


def run_stages(
    x: torch.Tensor,
    stages: list[Stage],
    plan: NormPlan | None,
    tile: int,
    device: torch.device,
    progress: Progress = NullProgress(),
    oom_check: Callable[[torch.Tensor, Stage], None] | None = None,
    factor: float = 1.0,
    compact: bool = False,
    keep_on_device: bool = False,
) -> TiledRun:
    """Run ``stages`` on ``x`` ([1, C, H, W], CPU); ``tile`` is the tile side in pixels of the network
    input; ``factor`` is the resolution of ``x`` relative to the network input (1/4 for features).
    ``plan`` gathers and applies the statistics (None where no stage gathers any: an encoder without norms).

    On running out of memory the tile is halved and the stage started again. ``oom_check`` lets
    tests simulate a device that cannot hold large tiles. ``compact`` keeps the boundaries of stages
    marked compact in float16 (half the memory; for large images). ``keep_on_device`` keeps the
    boundaries on ``device`` instead of the CPU (a GPU with memory to spare: nothing crosses the bus).
    """
    costs = [s.cost * _pixels_in(x, stages, k) for k, s in enumerate(stages)]
    total_cost, done_cost = sum(costs), 0.0
    boundary = x
    del x  # the caller may let go of the input once the first stage has run
    tiles_run = 0
    for index, stage in enumerate(stages):
        while True:
            try:
                store_dtype = torch.float16 if compact and stage.compact else torch.float32
                out, ran = _run_stage(boundary, factor, stage, plan, tile, device, progress,
                                      done_cost, total_cost, oom_check, store_dtype,
                                      device if keep_on_device else torch.device("cpu"))
                break
            except Exception as exc:  # noqa: BLE001 - only memory errors are retried
                if not _is_out_of_memory(exc) or stage.whole:
                    raise
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                if tile // 2 < MIN_TILE:
                    raise StyleFuseError(
                        "Not enough memory to render even with small tiles; close other programs or "
                        "lower the tile memory setting"
                    ) from exc
                log.warning("out of memory with %d px tiles in %s; retrying with %d px", tile, stage.name, tile // 2)
                tile //= 2
        tiles_run += ran
        done_cost += costs[index]
        if stage.store and out is not None:  # a storing stage always has an output
            boundary, factor = out, factor * stage.scale
        del out
        if device.type == "cpu":
            release_memory()
    return TiledRun(boundary, tile, tiles_run)


def _pixels_in(x: torch.Tensor, stages: list[Stage], index: int) -> float:
    factor = 1.0
    for stage in stages[:index]:
        if stage.store:
            factor *= stage.scale
    return x.shape[-2] * x.shape[-1] * factor * factor


def _gathering(stage: Stage, plan: NormPlan | None) -> tuple[NormPlan, int] | None:
    """(the plan, its norm layer) where ``stage`` gathers statistics; None where it gathers none."""
    if stage.collects is None:
        return None
    if plan is None:
        raise ValueError(f"the stage {stage.name!r} gathers statistics, but no plan was given")
    return plan, stage.collects


def _run_stage(boundary: torch.Tensor, factor: float, stage: Stage, plan: NormPlan | None, tile: int,
               device: torch.device, progress: Progress, done_cost: float, total_cost: float,
               oom_check: Callable[[torch.Tensor, Stage], None] | None, store_dtype: torch.dtype = torch.float32,
               store_device: torch.device = torch.device("cpu")) -> tuple[torch.Tensor | None, int]:
    """One stage over every tile -> (its output, None for a statistics-only stage; tiles run)."""
    gather = _gathering(stage, plan)
    if gather is not None:
        gather[0].begin(gather[1])
    height, width = boundary.shape[-2:]
    if stage.whole:
        raise_if_cancelled(progress)
        # stages normalise in place: a boundary still needed afterwards (a stats-only stage) is copied
        source = boundary.to(device, dtype=torch.float32, copy=not stage.store)
        if device.type == "cpu":
            source = source.contiguous(memory_format=torch.channels_last)
        result = stage.run(source, Region(0, 0, factor))
        del source
        if gather is not None:
            gather[0].collect(gather[1], result, Region(0, 0, factor * stage.scale))
            gather[0].finish(gather[1])
        progress.report((done_cost + stage.cost * height * width) / total_cost, stage.name)
        return result.to(store_device) if stage.store else None, 1

    align = _alignment(stage.scale)
    side = max(align, round(tile * factor))  # the same stretch of image whatever the resolution
    rows = list(_windows(height, side, align, stage.halo))
    cols = list(_windows(width, side, align, stage.halo))
    out: torch.Tensor | None = None
    count = len(rows) * len(cols)
    for n, ((y0, y1, wy0, wy1), (x0, x1, wx0, wx1)) in enumerate((r, c) for r in rows for c in cols):
        raise_if_cancelled(progress)
        # a copy: stages normalise in place, and neighbouring tiles share the halo
        window = boundary[..., wy0:wy1, wx0:wx1].to(device, dtype=torch.float32, copy=True,
                                                     memory_format=torch.channels_last)
        if oom_check is not None:
            oom_check(window, stage)
        result = stage.run(window, Region(wy0, wx0, factor))
        s = stage.scale
        core = result[..., round((y0 - wy0) * s) : round((y1 - wy0) * s), round((x0 - wx0) * s) : round((x1 - wx0) * s)]
        out_region = Region(round(y0 * s), round(x0 * s), factor * s)
        if gather is not None:
            gather[0].collect(gather[1], core, out_region)
        if stage.store:
            if out is None:
                # channels-last: tiles of it copy fast, and a 3-channel result is an [H, W, 3] array as it is
                out = torch.empty((1, core.shape[1], round(height * s), round(width * s)), dtype=store_dtype,
                                  device=store_device, memory_format=torch.channels_last)
            out[..., out_region.y : out_region.y + core.shape[-2], out_region.x : out_region.x + core.shape[-1]] = core
        del result, core, window
        fraction = (done_cost + stage.cost * height * width * (n + 1) / count) / total_cost
        progress.report(fraction, f"{stage.name} {n + 1}/{count}")
    if gather is not None:
        gather[0].finish(gather[1])
    return out, count


def auto_tile_size(device: torch.device, bytes_per_pixel: int = 320, budget_mb: int | None = None) -> int:
    """Tile side from the memory a tile may use: the free device memory on a GPU, else a budget."""
    if budget_mb is None:
        if device.type == "cuda":
            budget_mb = int(free_device_memory(device) / 2**20 * 0.5)
        else:
            budget_mb = cpu_tile_budget_mb()
    side = int(math.sqrt(budget_mb * 2**20 / bytes_per_pixel))
    # a GPU with room paints large photos in one piece (48 MP at 8192): tiles only cost launches there
    largest = 8192 if device.type == "cuda" else 4096
    return max(MIN_TILE, min(largest, side // 64 * 64))


def cpu_tile_budget_mb() -> int:
    """What one tile may use on the CPU: a quarter of the memory available now, between 384 MB and 1.5 GB.
    A tiled render recomputes the first layer and the halos (measured at 2048 px: twice the CPU time of
    one piece), so a machine with room paints photos up to ~4 MP whole."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            available_kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 384
    return max(384, min(1536, available_kib // 1024 // 4))
