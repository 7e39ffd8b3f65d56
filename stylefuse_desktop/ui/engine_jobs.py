"""The work the editor hands to worker threads. Each is a plain function of its inputs and a progress
object; each imports the engine (and so torch) inside, so the window never waits for torch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..document.compositor import Painted, RenderStore
from ..document.document import Document
from ..document.layers import StyleRef
from ..document.style_catalogue import StyleKind
from ..progress import Progress

if TYPE_CHECKING:
    from ..engine.layer_paint import HeldPainting

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class EngineOptions:
    device: str = "auto"
    tile_memory_mb: int | None = None


def warm_up(progress: Progress) -> str:
    """Import torch, convert the weights if this is the first start, and name the device in use."""
    progress.report(0.0, "Starting the style engine")
    from ..engine.device import describe_device, select_device
    from ..engine.weights import ensure_all_converted, load_network, weights_are_converted

    if not weights_are_converted():
        ensure_all_converted(progress.report)
    device = select_device("auto")
    for name in ("style_transformer", "style_predictor"):
        load_network(name, device)
    progress.report(1.0, "Ready")
    return describe_device(device)


def paint_layers(doc: Document, layer_ids: list[str], renders: RenderStore, scale: float, draft: bool,
                 options: EngineOptions, progress: Progress,
                 failures: dict[str, str] | None = None) -> list[tuple[str, Painted]]:
    """Paint style/fusion layers bottom to top (a layer above may paint from one below).

    With ``failures`` (the editor's previews), a layer that fails is logged and named there and the
    others still paint; without it (export, merge down), the first failure stops the job."""
    from ..engine.layer_paint import paint_layer
    from ..engine.render import RenderSettings
    from ..errors import Cancelled
    from ..progress import SubProgress, raise_if_cancelled

    base = RenderSettings(device=options.device, tile_memory_mb=options.tile_memory_mb)
    local = RenderStore()
    for layer in doc.layers:
        painted = renders.get(layer.id, scale) or renders.best(layer.id, scale)
        if painted is not None:
            local.put(layer.id, painted)
    results = []
    for i, layer_id in enumerate(layer_ids):
        raise_if_cancelled(progress)
        name = doc.layer(layer_id).name
        step = SubProgress(progress, i / len(layer_ids), (i + 1) / len(layer_ids))
        step.report(0.0, f"Painting {name}")
        try:
            painted = paint_layer(doc, layer_id, local, scale, draft, base, step)
            if not np.isfinite(painted.rgba).all():  # a black canvas would hide the problem
                from ..errors import BadInputError

                raise BadInputError(f"'{name}' painted invalid numbers (NaN or infinity): one of its styles or "
                                    "weights holds values out of range; the layer is left as it was")
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one layer's failure must not take the others down
            if failures is None:
                raise
            log.exception("painting layer '%s' failed", name)
            failures[layer_id] = str(exc) or type(exc).__name__
            continue
        local.put(layer_id, painted)
        results.append((layer_id, painted))
    return results


def paint_view(doc: Document, box: tuple[int, int, int, int], renders: RenderStore, held: dict[str, HeldPainting],
               options: EngineOptions, progress: Progress, skip: frozenset[tuple[int, int, int, int]] = frozenset(),
               step: int = 1) -> Iterator[tuple[tuple[int, int, int, int], np.ndarray]]:
    """The real pixels of the canvas's view, yielded tile by tile as (tile box, RGBA): the export's
    pixels around ``box``, nearest its centre first, except the tiles in ``skip`` (already shown), at
    1/``step`` of full resolution (``layer_paint.paint_view_tiles``); ``held`` keeps the layers'
    full-size paintings between views (the scheduler owns it)."""
    from ..engine.layer_paint import paint_view_tiles
    from ..engine.render import RenderSettings

    base = RenderSettings(device=options.device, tile_memory_mb=options.tile_memory_mb)
    yield from paint_view_tiles(doc, box, renders, held, base, progress, skip, step=step)


def style_thumbnails(rgb: np.ndarray, refs: list[StyleRef], options: EngineOptions,
                     progress: Progress) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, str]]]:
    """Each style on the user's small photo -> ([(style key, thumbnail [h, w, 3])], [(style key, why it
    could not be painted)]); each thumbnail is kept in the thumbnail cache for the next start."""
    from ..document.layers import StyleEntry
    from ..document.thumbnail_cache import ThumbnailCache, thumbnail_key
    from ..engine.layer_paint import style_mix
    from ..engine.render import RenderSettings, render_image
    from ..progress import raise_if_cancelled

    settings = RenderSettings(device=options.device)
    out, failed = [], []
    for i, ref in enumerate(refs):
        raise_if_cancelled(progress)
        try:
            thumb = render_image(rgb, style_mix((StyleEntry(ref),)), settings)
        except Exception as exc:  # noqa: BLE001 - one bad style must not stop the others' thumbnails
            log.warning("no preview of style '%s': %s", ref.name, exc)
            failed.append((ref.key, str(exc) or type(exc).__name__))
            continue
        ThumbnailCache().put(thumbnail_key(ref.key, rgb), thumb)
        out.append((ref.key, thumb))
        progress.report((i + 1) / len(refs), "Style previews")
    return out, failed


def style_from_image(path: Path, progress: Progress) -> StyleRef:
    """A picture as a style: its embedding, kept as .sfstyle data with a preview."""
    import io

    import torch
    from PIL import Image

    from ..document.image_io import read_image, to_uint8
    from ..document.style_file import StyleFile, style_to_bytes
    from ..engine.device import select_device
    from ..engine.embeddings import predict_embedding

    progress.report(0.1, f"Reading {Path(path).name}")
    photo = read_image(path)
    progress.report(0.5, "Measuring the style")
    embedding = predict_embedding(photo.rgb, select_device("auto")).float().cpu().numpy()
    preview = Image.fromarray(to_uint8(photo.rgb))
    preview.thumbnail((128, 128))
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG")
    name = Path(path).stem
    data = style_to_bytes(StyleFile(name, "embedding", {"embedding": embedding},
                                    info={"source": "image", "file": Path(path).name}, preview_png=buffer.getvalue()))
    progress.report(1.0, "Style ready")
    del torch
    return StyleRef(StyleKind.IMAGE, name, data)


def export_document(doc: Document, renders: RenderStore, path: Path, quality: int, layer_id: str | None,
                    options: EngineOptions, progress: Progress) -> Path:
    """Paint whatever is missing at full size, then write the file."""
    from ..document.operations import export, stale_paintings

    layers = list(doc.layers) if layer_id is None else [doc.layer(layer_id)]
    missing = stale_paintings(doc, renders, layers)
    if missing:
        from ..progress import SubProgress

        painted = paint_layers(doc, missing, renders, 1.0, False, options, SubProgress(progress, 0.0, 0.9))
        for lid, item in painted:
            renders.put(lid, item)
    progress.report(0.95, f"Writing {Path(path).name}")
    out = export(doc, renders, path, quality=quality, layer_id=layer_id)
    progress.report(1.0, f"Exported {Path(path).name}")
    return out
