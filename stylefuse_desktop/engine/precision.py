"""Which number format the convolutions use during a render: float32, or bfloat16 where it pays (CPUs
with AVX-512 BF16 or AMX; asked for by name on CUDA). Activations between layers and all
normalisation statistics stay float32; only the convolutions' inputs and weights are bfloat16."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch

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
    # 'auto' takes bf16 on CPUs only: on an H200 the fp32 convolutions (TF32 in cuDNN) ran faster than
    # bf16 (4000x3000 picture style 0.044 s vs 0.054 s; docs/bench/gpu.md)
    if precision == "bf16" or (precision == "auto" and device.type == "cpu" and bf16_is_native(device)):
        return torch.bfloat16
    return torch.float32


def conv_dtype() -> torch.dtype:
    return _conv_dtype.get()


@contextlib.contextmanager
def convolutions_in(dtype: torch.dtype) -> Iterator[None]:
    token = _conv_dtype.set(dtype)
    try:
        yield
    finally:
        _conv_dtype.reset(token)
