"""The one stroke-size model of the editor, the command line and the engine (no torch).

A stroke size is relative to the picture: at stroke size 1 the network paints the picture's long side
at its family's reference size, so a 4000x3000 export looks like its 1000x750 preview with every
stroke scaled with the picture. Stroke size 2 paints at half that size (strokes twice as large).

The reference sizes were chosen by looking (docs/stroke_size_*.jpg, made by
docs/make_stroke_size_sheet.py): the 26-style network's built-ins read as paintings with the subject
still clear at 768 px; the arbitrary-style transformer, trained on small pictures, paints picture
styles as a faint texture on the photo above ~512 px and as a painting at 512 and below, where the
subject still reads.

The absolute model remains for those who want it: ``scale`` paints at 1/scale of the output size
(1: the network at full output size).
"""

from __future__ import annotations

MULTISTYLE_FAMILY, EMBEDDING_FAMILY = "multistyle", "embedding"
REFERENCE_SIDE = {MULTISTYLE_FAMILY: 768, EMBEDDING_FAMILY: 512}
MIN_SCALE, MAX_SCALE = 1 / 16, 16.0
MIN_STROKE_SIZE, MAX_STROKE_SIZE = 1 / 16, 16.0


def stroke_scale(stroke_size: float, width: int, height: int, family: str) -> float:
    """The absolute stroke scale (output size / network size) that ``stroke_size`` gives a picture of
    ``width`` x ``height`` painted by ``family``. Pictures smaller than the reference paint at their own
    size: the network never paints above the output's size unless asked for with a stroke size < 1."""
    long_side = max(width, height)
    scale = stroke_size * long_side / REFERENCE_SIDE[family]
    if stroke_size >= 1.0:
        scale = max(scale, 1.0)
    return min(MAX_SCALE, max(MIN_SCALE, scale))
