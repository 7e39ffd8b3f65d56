"""The ``.sfstyle`` file: one user style, shareable. A zip holding a versioned ``manifest.json``, the
style's tensors as safetensors, and optionally a preview PNG. Never a pickle.

Kinds:
- ``embedding``: a 100-d style embedding for the arbitrary-style transformer (tensor ``embedding``);
  a trained style also has its own normalisation parameters (``norm.<i>.gamma``/``beta``) and
  low-rank adapters of the decoder's convolutions (``adapter.<layer>.up``/``down``, see
  ``engine/adapters.py``), described in the manifest's ``adapters`` entry (format version 2), and may
  have a colour map of its paintings (``colour.matrix`` [3, 3], ``colour.offset`` [3]: format version 3).
  Version 1 files (embedding, optional norms) and version 2 files still load: they have no adapters, or
  no colour map.
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
from .atomic import atomic_write_bytes
from .user_files import JsonObject, UserZip, check_name, printable, readable_file

STYLE_FORMAT = "stylefuse.style"
STYLE_FORMAT_VERSION = 3
STYLE_EXTENSION = ".sfstyle"
KINDS = ("embedding", "look")
EMBEDDING_SIZE = 100

_MANIFEST = "manifest.json"
_TENSORS = "tensors.safetensors"
_PREVIEW = "preview.png"
# a style is small; anything far larger is damaged or hostile (zip bombs)
_MAX_MEMBER_BYTES = {_MANIFEST: 1 << 20, _TENSORS: 512 << 20, _PREVIEW: 16 << 20}
MAX_TENSOR_VALUES = 64 << 20  # all tensors together: far above any style we make
MAX_ABS_VALUE = 1e6  # embeddings, norm parameters and weights live within a few hundred
MAX_LOOK_WIDTH = 256
MAX_EMBEDDING_VALUE = 1e3  # predicted embeddings stay within about ten

# format_version -> function upgrading a manifest of that version by one step
_MIGRATIONS: dict[int, Callable[[JsonObject], JsonObject]] = {
    # version 2 added per-style adapters; a version 1 style simply has none
    1: lambda manifest: {**manifest, "format_version": 2, "adapters": None},
    # version 3 added an optional colour map; a version 2 style simply has none
    2: lambda manifest: {**manifest, "format_version": 3},
}
ADAPTER_PREFIX = "adapter."
MAX_ADAPTER_RANK = 64
COLOUR_MATRIX, COLOUR_OFFSET = "colour.matrix", "colour.offset"
MAX_COLOUR_MAP_VALUE = 16.0  # fitted maps stay within a few units (a flat style's widest stretch)


@dataclass
class StyleFile:
    name: str
    kind: str
    tensors: dict[str, np.ndarray]
    info: JsonObject = field(default_factory=dict)  # training settings, metrics, dates: free-form JSON
    preview_png: bytes | None = None

    @property
    def embedding(self) -> np.ndarray | None:
        return self.tensors.get("embedding")


def _validate(style: StyleFile, origin: str) -> None:
    """The schema of a style: kind, name, info types, tensor types, shapes, sizes and finite values."""
    if not isinstance(style.kind, str) or style.kind not in KINDS:
        raise BadInputError(f"{origin}: unknown style kind '{printable(style.kind)}' (made by a newer StyleFuse?)")
    if not style.name or not isinstance(style.name, str) or not style.name.strip():
        raise BadInputError(f"{origin}: the style has no name")
    style.name = check_name(style.name, "style name")
    if not isinstance(style.info, dict):
        raise BadInputError(f"{origin}: the style's info is not a table; the file is damaged")
    total = 0
    for key, value in style.tensors.items():
        if value.dtype.kind not in "fiu":
            raise BadInputError(f"{origin}: tensor '{printable(key)}' has an unsupported type {value.dtype}")
        total += value.size
        if total > MAX_TENSOR_VALUES:
            raise BadInputError(f"{origin}: the style's tensors are implausibly large; the file is damaged")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise BadInputError(f"{origin}: the style holds invalid numbers (NaN or infinity)")
        if value.size and float(np.abs(value).max()) > MAX_ABS_VALUE:
            raise BadInputError(f"{origin}: the style holds values far out of range; the file is damaged")
    if style.kind == "embedding":
        emb = style.tensors.get("embedding")
        if emb is None or emb.shape != (EMBEDDING_SIZE,):
            raise BadInputError(f"{origin}: an embedding style needs a tensor 'embedding' of {EMBEDDING_SIZE} values")
        if float(np.abs(emb).max()) > MAX_EMBEDDING_VALUE:
            raise BadInputError(f"{origin}: the style embedding holds values far out of range; the file is damaged")
        _validate_norms(style.tensors, origin)
        for key, value in style.tensors.items():
            if key.startswith(ADAPTER_PREFIX) and (value.ndim != 2 or min(value.shape) > MAX_ADAPTER_RANK):
                raise BadInputError(f"{origin}: the style's adapter '{printable(key)}' is damaged")
        _validate_colour_map(style.tensors, origin)
    if style.kind == "look":
        architecture = style.info.get("architecture", {})
        width = architecture.get("width", 32) if isinstance(architecture, dict) else None
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_LOOK_WIDTH:
            raise BadInputError(f"{origin}: the look's network width must be a whole number from 1 to "
                                f"{MAX_LOOK_WIDTH}; the file is damaged")
        if not any(k.startswith("look.") for k in style.tensors):
            raise BadInputError(f"{origin}: the look has no network tensors; the file is damaged")


def check_style(style: StyleFile, origin: str) -> None:
    """The checks every style passes when read (for styles that reach us other than as a ``.sfstyle``)."""
    _validate(style, origin)


def _validate_norms(tensors: dict[str, np.ndarray], origin: str) -> None:
    """Tuned normalisation parameters come as complete gamma/beta pairs of matching 1-d shapes."""
    indices = sorted({int(k.split(".")[1]) for k in tensors if k.startswith("norm.") and k.split(".")[1].isdigit()})
    if not indices:
        return
    if indices != list(range(len(indices))):
        raise BadInputError(f"{origin}: the style's normalisation tensors are incomplete; the file is damaged")
    for i in indices:
        gamma, beta = tensors.get(f"norm.{i}.gamma"), tensors.get(f"norm.{i}.beta")
        if gamma is None or beta is None or gamma.ndim != 1 or gamma.shape != beta.shape:
            raise BadInputError(f"{origin}: the style's normalisation tensors are incomplete or mis-shaped; "
                                "the file is damaged")


def _validate_colour_map(tensors: dict[str, np.ndarray], origin: str) -> None:
    """A colour map comes whole: a [3, 3] matrix and a [3] offset of modest values."""
    matrix, offset = tensors.get(COLOUR_MATRIX), tensors.get(COLOUR_OFFSET)
    if matrix is None and offset is None:
        return
    if matrix is None or offset is None or matrix.shape != (3, 3) or offset.shape != (3,) \
            or max(float(np.abs(matrix).max()), float(np.abs(offset).max())) > MAX_COLOUR_MAP_VALUE:
        raise BadInputError(f"{origin}: the style's colour map is incomplete or out of range; the file is damaged")


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


def _adapter_summary(tensors: dict[str, np.ndarray]) -> JsonObject | None:
    """What the manifest says of a style's adapters (a reader can tell without opening the tensors)."""
    ups = {k[len(ADAPTER_PREFIX):-len(".up")]: v for k, v in tensors.items()
           if k.startswith(ADAPTER_PREFIX) and k.endswith(".up")}
    if not ups:
        return None
    return {"kind": "low-rank", "layers": sorted(ups), "rank": max(int(v.shape[1]) for v in ups.values())}


def _migrate(manifest: JsonObject, origin: str) -> JsonObject:
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
        with UserZip(data, origin) as zf:
            manifest = read_manifest(zf, origin)
            tensors = dict(load_tensors(zf.read(_TENSORS, _MAX_MEMBER_BYTES[_TENSORS])))
            preview = zf.read(_PREVIEW, _MAX_MEMBER_BYTES[_PREVIEW]) if manifest.get("preview") else None
    except BadInputError:
        raise
    except (SafetensorError, UnicodeDecodeError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise BadInputError(f"{origin}: the style file is damaged ({type(exc).__name__})") from None
    style = StyleFile(
        name=manifest.get("name", ""),
        kind=manifest.get("kind", ""),
        tensors=tensors,
        info=manifest.get("info") or {},
        preview_png=preview,
    )
    _validate(style, origin)
    return style


def read_manifest(zf: UserZip, origin: str) -> JsonObject:
    """A style's manifest, size and depth checked before parsing, migrated to the current version."""
    manifest = zf.read_json(_MANIFEST) if _MANIFEST in zf.names() else None
    if manifest is None:
        raise BadInputError(f"{origin}: not a StyleFuse style (no {_MANIFEST})")
    if not isinstance(manifest, dict) or manifest.get("format") != STYLE_FORMAT:
        raise BadInputError(f"{origin}: not a StyleFuse style file")
    return _migrate(manifest, origin)


def read_style_name(path: str | os.PathLike[str]) -> str:
    """Only the style's name (its manifest), for finding a style without loading every tensor."""
    path = readable_file(path, "style file")
    origin = printable(path)
    with UserZip(path, origin) as zf:
        name = read_manifest(zf, origin).get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadInputError(f"{origin}: the style has no name")
    return check_name(name, "style name")


def read_style_file(path: str | os.PathLike[str]) -> StyleFile:
    return read_style(path)[1]


def read_style(path: str | os.PathLike[str]) -> tuple[bytes, StyleFile]:
    """A style file's bytes, read once, and the style parsed from them."""
    data = read_style_bytes(path)
    return data, style_from_bytes(data, origin=printable(path))


def read_style_bytes(path: str | os.PathLike[str]) -> bytes:
    """A style file's bytes, size checked (``style_from_bytes`` parses them)."""
    path = readable_file(path, "style file")
    if path.stat().st_size > 2 * _MAX_MEMBER_BYTES[_TENSORS]:
        raise BadInputError(f"{printable(path)}: implausibly large for a style file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{printable(path)}: cannot be read ({exc.strerror or exc})") from None


def write_style_file(path: str | os.PathLike[str], style: StyleFile) -> Path:
    path = Path(path)
    data = style_to_bytes(style)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise BadInputError(f"{printable(path)}: the style cannot be written ({exc.strerror or exc})") from None
    return path
