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


def graphs_wanted(device: torch.device) -> bool:
    """Whether steps on ``device`` are captured (CUDA, unless ``STYLEFUSE_CUDA_GRAPHS=0``)."""
    return device.type == "cuda" and cuda_graphs_enabled()


class GraphedStep:
    """Call it as the step itself: the first ``WARMUP_STEPS`` calls run ``step`` eagerly, the next one
    captures it and replays the graph, every later one replays it. Each call is one real step. The
    returned tensors are the same objects at every replay (read them before the next call). On a device
    other than CUDA, or with graphs switched off, every call runs ``step``."""

    def __init__(self, step: Callable[[], Outputs], device: torch.device) -> None:
        self._step = step
        self._capturing = graphs_wanted(device)
        self._eager_calls = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._outputs: Outputs = {}

    @property
    def captured(self) -> bool:
        return self._graph is not None

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
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: only this thread must keep off calls a capture forbids; the editor's render
            # worker may use the GPU meanwhile (with "global" its allocations would fail the render)
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                outputs = self._step()
        except Exception as exc:  # noqa: BLE001 - any failure to capture leaves the eager step, which works
            log.warning("training goes on without CUDA graphs (the step could not be captured: %s)", exc)
            self._capturing = False
            return self._step()
        self._graph, self._outputs = graph, outputs
        graph.replay()  # capturing recorded the step without running it
        return outputs
