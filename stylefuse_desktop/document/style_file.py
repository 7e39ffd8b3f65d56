"""The ``.sfstyle`` file: one user style, shareable. A zip holding a versioned ``manifest.json``, the
style's tensors as safetensors, and optionally a preview PNG. Never a pickle.

Kinds:
- ``embedding``: a 100-d style embedding for the arbitrary-style transformer (tensor ``embedding``);
  a trained style also has its own normalisation parameters (``norm.<i>.gamma``/``beta``) and
  low-rank adapters of the decoder's convolutions (``adapter.<layer>.up``/``down``, see
  ``engine/adapters.py``), described in the manifest's ``adapters`` entry (format version 2).
  Version 1 files (embedding, optional norms) still load: they have no adapters.
- ``look``: an editing look learnt from before/after pairs (tensors of the look generator).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from ..errors import BadInputError
from .atomic import atomic_path

STYLE_FORMAT = "stylefuse.style"
STYLE_FORMAT_VERSION = 2
STYLE_EXTENSION = ".sfstyle"
KINDS = ("embedding", "look")
EMBEDDING_SIZE = 100

_MANIFEST = "manifest.json"
_TENSORS = "tensors.safetensors"
_PREVIEW = "preview.png"
# a style is small; anything far larger is damaged or hostile (zip bombs)
_MAX_MEMBER_BYTES = {_MANIFEST: 1 << 20, _TENSORS: 512 << 20, _PREVIEW: 16 << 20}

# format_version -> function upgrading a manifest of that version by one step
_MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    # version 2 added per-style adapters; a version 1 style simply has none
    1: lambda manifest: {**manifest, "format_version": 2, "adapters": None},
}
ADAPTER_PREFIX = "adapter."
_MAX_ADAPTER_RANK = 64


@dataclass
class StyleFile:
    name: str
    kind: str
    tensors: dict[str, np.ndarray]
    info: dict = field(default_factory=dict)  # training settings, metrics, dates: free-form JSON
    preview_png: bytes | None = None

    @property
    def embedding(self) -> np.ndarray | None:
        return self.tensors.get("embedding")


def _validate(style: StyleFile, origin: str) -> None:
    if style.kind not in KINDS:
        raise BadInputError(f"{origin}: unknown style kind '{style.kind}' (made by a newer StyleFuse?)")
    if not style.name or not isinstance(style.name, str):
        raise BadInputError(f"{origin}: the style has no name")
    if style.kind == "embedding":
        emb = style.tensors.get("embedding")
        if emb is None or emb.shape != (EMBEDDING_SIZE,):
            raise BadInputError(f"{origin}: an embedding style needs a tensor 'embedding' of {EMBEDDING_SIZE} values")
        if not np.all(np.isfinite(emb)):
            raise BadInputError(f"{origin}: the style embedding holds invalid numbers")
    for key, value in style.tensors.items():
        if value.dtype.kind not in "fiu":
            raise BadInputError(f"{origin}: tensor '{key}' has an unsupported type {value.dtype}")
        if key.startswith(ADAPTER_PREFIX) and style.kind == "embedding":
            if value.ndim != 2 or min(value.shape) > _MAX_ADAPTER_RANK or not np.all(np.isfinite(value)):
                raise BadInputError(f"{origin}: the style's adapter '{key}' is damaged")


def style_to_bytes(style: StyleFile) -> bytes:
    _validate(style, style.name or "style")
    manifest = {
        "format": STYLE_FORMAT,
        "format_version": STYLE_FORMAT_VERSION,
        "kind": style.kind,
        "name": style.name,
        "tensors": _TENSORS,
        "preview": _PREVIEW if style.preview_png else None,
        "info": style.info,
        "adapters": _adapter_summary(style.tensors),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        tensors = {k: np.ascontiguousarray(v) for k, v in style.tensors.items()}
        zf.writestr(_TENSORS, save_tensors(tensors))
        if style.preview_png:
            zf.writestr(_PREVIEW, style.preview_png)
    return buffer.getvalue()


def _adapter_summary(tensors: dict[str, np.ndarray]) -> dict | None:
    """What the manifest says of a style's adapters (a reader can tell without opening the tensors)."""
    ups = {k[len(ADAPTER_PREFIX):-len(".up")]: v for k, v in tensors.items()
           if k.startswith(ADAPTER_PREFIX) and k.endswith(".up")}
    if not ups:
        return None
    return {"kind": "low-rank", "layers": sorted(ups), "rank": max(int(v.shape[1]) for v in ups.values())}


def _read_member(zf: zipfile.ZipFile, name: str, origin: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise BadInputError(f"{origin}: not a StyleFuse style (no {name})") from None
    if info.file_size > _MAX_MEMBER_BYTES[name]:
        raise BadInputError(f"{origin}: {name} is implausibly large; the file is damaged")
    return zf.read(name)


def _migrate(manifest: dict, origin: str) -> dict:
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise BadInputError(f"{origin}: the style manifest has no format version")
    if version > STYLE_FORMAT_VERSION:
        raise BadInputError(
            f"{origin}: style format {version} is newer than this StyleFuse reads ({STYLE_FORMAT_VERSION}); "
            "update StyleFuse to open it"
        )
    while version < STYLE_FORMAT_VERSION:
        if version not in _MIGRATIONS:
            raise BadInputError(f"{origin}: style format {version} is not supported")
        manifest = _MIGRATIONS[version](manifest)
        version = manifest["format_version"]
    return manifest


def style_from_bytes(data: bytes, origin: str = "style") -> StyleFile:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(_read_member(zf, _MANIFEST, origin))
            if not isinstance(manifest, dict) or manifest.get("format") != STYLE_FORMAT:
                raise BadInputError(f"{origin}: not a StyleFuse style file")
            manifest = _migrate(manifest, origin)
            tensors = dict(load_tensors(_read_member(zf, _TENSORS, origin)))
            preview = _read_member(zf, _PREVIEW, origin) if manifest.get("preview") else None
    except BadInputError:
        raise
    except (zipfile.BadZipFile, json.JSONDecodeError, SafetensorError, UnicodeDecodeError, OSError, EOFError,
            ValueError, KeyError, TypeError) as exc:
        raise BadInputError(f"{origin}: the style file is damaged ({type(exc).__name__})") from None
    style = StyleFile(
        name=str(manifest.get("name", "")),
        kind=str(manifest.get("kind", "")),
        tensors=tensors,
        info=manifest.get("info") or {},
        preview_png=preview,
    )
    _validate(style, origin)
    return style


def read_style_file(path: str | os.PathLike) -> StyleFile:
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such style file")
    return style_from_bytes(path.read_bytes(), origin=str(path))


def write_style_file(path: str | os.PathLike, style: StyleFile) -> Path:
    path = Path(path)
    data = style_to_bytes(style)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise BadInputError(f"{path}: the style cannot be written ({exc.strerror or exc})") from None
    return path
