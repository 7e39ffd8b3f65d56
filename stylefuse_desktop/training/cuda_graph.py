"""A training step replayed as one CUDA graph. A style training step at batch 2 and 256 px launches about
2,500 kernels; on an H100 the GPU was busy for 10 ms of a 90 ms step and the rest was Python and the
launches themselves (``benchmarks/profile_style_steps.py``, stop 31). A graph, captured once, launches
the whole step at once.

What a captured step may do: read and write tensors that stay the same objects (its inputs are copied into
fixed tensors before each replay, and anything that changes between steps, a step size or a weight, is a
tensor filled in place); no reads back to the host, no Python decisions on tensor values. Optimizers must be
``capturable``. When capture fails, the run goes on one launch at a time, with a note in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from ..engine.device import cuda_graphs_enabled

log = logging.getLogger(__name__)

# steps run eagerly before the capture: the first loads kernels and sets up autograd's and cuDNN's state,
# which a capture cannot do (torch's guide asks for a few, on a side stream)
WARMUP_STEPS = 3

Outputs = dict[str, torch.Tensor]


# set once a capture failed in this process: torch cannot always undo a failed capture (``_undo_capture``),
# so no later run tries again
_capture_failed = False


def graphs_wanted(device: torch.device) -> bool:
    """Whether steps on ``device`` are captured (CUDA, unless ``STYLEFUSE_CUDA_GRAPHS=0`` or a capture
    failed earlier in this process)."""
    return device.type == "cuda" and cuda_graphs_enabled() and not _capture_failed


def _undo_capture(stream: torch.cuda.Stream, pool: tuple[int, int]) -> None:
    """Put back what a failed capture can leave behind. When ending the capture itself fails, torch's
    ``graph.__exit__`` raises before it restores the thread's stream, and the allocator still sends this
    thread's allocations to the graph's pool; a failure inside the step ends the capture cleanly."""
    global _capture_failed
    _capture_failed = True
    if torch.cuda.current_stream() == stream:
        return
    torch.cuda.set_stream(stream)
    try:  # torch's own way out of a pool (torch.cuda.memory.use_mem_pool), which it does not export
        device = torch.cuda.current_device()
        torch._C._cuda_endAllocateToPool(device, pool)
        torch._C._cuda_releasePool(device, pool)
    except Exception:  # noqa: BLE001 - best effort: the eager steps need neither
        log.debug("could not release the failed capture's memory pool", exc_info=True)


class GraphedStep:
    """Call it as the step itself: the first ``WARMUP_STEPS`` calls run ``step`` eagerly, the next one
    captures it and replays the graph, every later one replays it. Each call is one real step. The
    returned tensors are the same objects at every replay (read them before the next call). With
    ``capture`` False (``graphs_wanted``: not CUDA, or graphs switched off), every call runs ``step``. The
    caller decides once, as its optimizers must be ``capturable`` for the same answer."""

    def __init__(self, step: Callable[[], Outputs], capture: bool) -> None:
        self._step = step
        self._capturing = capture
        self._eager_calls = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._outputs: Outputs = {}

    @property
    def captured(self) -> bool:
        return self._graph is not None

    def release(self) -> None:
        """Let the graph go, and with it its memory once the gradients that live there are dropped too
        (the run's steps are done; what comes after paints, and the editor may be rendering)."""
        self._graph, self._outputs = None, {}

    def __call__(self) -> Outputs:
        if self._graph is not None:
            self._graph.replay()
            return self._outputs
        if not self._capturing:
            return self._step()
        if self._eager_calls < WARMUP_STEPS:
            self._eager_calls += 1
            side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                outputs = self._step()
            torch.cuda.current_stream().wait_stream(side)
            return outputs
        graph, pool, stream = torch.cuda.CUDAGraph(), torch.cuda.graph_pool_handle(), torch.cuda.current_stream()
        try:
            # thread_local: only this thread must keep off calls a capture forbids; the editor's render
            # worker may use the GPU meanwhile (with "global" its allocations would fail the render)
            with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
                outputs = self._step()
        except Exception as exc:  # noqa: BLE001 - any failure to capture leaves the eager step, which works
            _undo_capture(stream, pool)
            log.warning("training goes on without CUDA graphs (the step could not be captured: %s)", exc)
            self._capturing = False
            return self._step()
        self._graph, self._outputs = graph, outputs
        graph.replay()  # capturing recorded the step without running it
        return outputs
