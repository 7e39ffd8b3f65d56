"""Layers: plain objects that announce their changes (psygnal), knowing nothing of Qt or torch.

- ``ImageLayer``: a photo, positioned and scalable on the canvas.
- ``StyleLayer``: non-destructive style: paints its source (the layer it names, or everything below)
  with a mix of styles, each with a weight and an optional weight map (where it goes).
- ``FusionLayer``: several source layers fused into one painting, by weight or by masks.

Every layer has a name, visibility, opacity, blend mode, an optional mask and a lock. Masks and
weight maps are float32 [H, W] at the canvas size; None means "everywhere".
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray
from psygnal import evented

from .blend import BlendMode
from .raster import Raster
from .style_catalogue import StyleKind
from .style_file import StyleFile, style_from_bytes

if TYPE_CHECKING:
    from psygnal import SignalGroup

BELOW = "below"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class StyleRef:
    """A style as a document keeps it: a built-in by name; a user style or a picture's style as its
    ``.sfstyle`` bytes (so a project opens on a machine that never saw the picture)."""

    kind: StyleKind
    name: str
    data: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", StyleKind(self.kind))
        except ValueError:
            raise ValueError(f"unknown style kind {self.kind!r}") from None
        if self.kind != StyleKind.BUILTIN and not self.data:
            raise ValueError(f"a {self.kind} style needs its .sfstyle data")

    @property
    def key(self) -> str:
        """Identity of the style's content (the same picture twice is the same style)."""
        if self.kind == StyleKind.BUILTIN:
            return f"builtin:{self.name}"
        return f"{self.kind.value}:{hashlib.sha1(self.data or b'').hexdigest()[:16]}"

    def style_file(self) -> StyleFile | None:
        return None if self.data is None else style_from_bytes(self.data, self.name)


@dataclass(eq=False)
class StyleEntry:
    style: StyleRef
    weight: float = 1.0
    weight_map: NDArray[np.float32] | None = None  # where this style goes (float32 [H, W] at canvas size)


@dataclass(eq=False)
class FusionSource:
    layer_id: str
    weight: float = 1.0
    mask: NDArray[np.float32] | None = None


@evented
@dataclass(eq=False)
class Layer:
    name: str = "Layer"
    visible: bool = True
    opacity: float = 1.0
    blend_mode: BlendMode = BlendMode.NORMAL
    locked: bool = False
    mask: NDArray[np.float32] | None = None
    id: str = field(default_factory=new_id)

    if TYPE_CHECKING:  # added by @evented: one signal per field
        events: ClassVar[SignalGroup]

    kind: ClassVar[str] = "layer"
    # the fields whose change alters pixels that depend on this layer (everything but name and lock)
    COSMETIC: ClassVar[frozenset[str]] = frozenset({"name", "locked"})


@evented
@dataclass(eq=False)
class ImageLayer(Layer):
    raster: Raster | None = None
    x: int = 0
    y: int = 0
    scale: float = 1.0
    exif: bytes | None = None

    kind: ClassVar[str] = "image"


@evented
@dataclass(eq=False)
class StyleLayer(Layer):
    source: str = BELOW  # BELOW, or the id of one layer
    styles: tuple[StyleEntry, ...] = ()
    strength: float = 1.0
    preserve_color: bool = False
    # stroke size relative to the picture (the engine's stroke_size model: 1 is the style's reference size)
    stroke_size: float = 1.0

    kind: ClassVar[str] = "style"


@evented
@dataclass(eq=False)
class FusionLayer(Layer):
    sources: tuple[FusionSource, ...] = ()
    styles: tuple[StyleEntry, ...] = ()
    strength: float = 1.0
    preserve_color: bool = False
    stroke_size: float = 1.0

    kind: ClassVar[str] = "fusion"


MIN_STROKE, MAX_STROKE = 0.25, 4.0  # the stroke sizes a layer may hold (the engine's model: engine/stroke_size.py)


LAYER_TYPES: dict[str, type[Layer]] = {cls.kind: cls for cls in (ImageLayer, StyleLayer, FusionLayer)}
