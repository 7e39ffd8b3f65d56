"""Which number format the convolutions use during a render: float32, or bfloat16 when asked for by name.
Activations between layers and all normalisation statistics stay float32; only the convolutions' inputs
and weights are bfloat16. A bf16 painting that comes out with NaN or infinities is painted again in
float32 (``painted_in``)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator

import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
_conv_dtype: contextvars.ContextVar[torch.dtype] = contextvars.ContextVar("conv_dtype", default=torch.float32)


def bf16_is_native(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def resolve(precision: str, device: torch.device) -> torch.dtype:
    # 'auto' is fp32 everywhere. On CUDA fp32 (TF32 in cuDNN) ran faster than bf16 on an H200 (4000x3000
    # picture style 0.044 s vs 0.054 s; docs/bench/gpu.md). On a 2-core Intel Xeon with AMX (torch
    # 2.14.1) bf16 convolutions on two threads painted whole pictures NaN, in about one run of two; it was
    # 20-35% faster on an AMD EPYC with AVX-512 BF16, but a speed-up that can return a blank picture is
    # not the default.
    del device
    return torch.bfloat16 if precision == "bf16" else torch.float32


def conv_dtype() -> torch.dtype:
    return _conv_dtype.get()


@contextlib.contextmanager
def convolutions_in(dtype: torch.dtype) -> Iterator[None]:
    token = _conv_dtype.set(dtype)
    try:
        yield
    finally:
        _conv_dtype.reset(token)


def painted_in(dtype: torch.dtype, paint: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``paint()`` with the convolutions in ``dtype``; a bf16 result with NaN or infinities (a CPU's bf16
    kernels can return them, see ``resolve``) is painted again in float32."""
    with convolutions_in(dtype):
        painting = paint()
    if dtype == torch.float32 or bool(torch.isfinite(painting).all()):
        return painting
    log.warning("bf16 convolutions returned NaN or infinities here; painting again in fp32")
    with convolutions_in(torch.float32):
        return paint()
