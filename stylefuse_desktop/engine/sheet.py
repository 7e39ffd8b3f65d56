"""A contact sheet: every built-in style on one photo, labelled, to help choose."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..document.image_io import resize_array, to_uint8
from ..progress import NullProgress, Progress, SubProgress, raise_if_cancelled
from .render import RenderSettings, render_image
from .styles import BUILTIN, StyleMix, StyleSource, builtin_styles

COLUMNS = 6
LABEL_HEIGHT = 28


def contact_sheet(rgb: np.ndarray, tile_width: int = 320, settings: RenderSettings = RenderSettings(),
                  progress: Progress = NullProgress()) -> np.ndarray:
    """[H, W, 3] float32 sheet: one tile per built-in style, named underneath, in manifest order. Each
    tile is a small copy of what ``settings`` paint on the full photo (strokes sized for the photo)."""
    h, w = rgb.shape[:2]
    tile_height = max(1, round(tile_width * h / w))
    small = resize_array(rgb, (tile_width, tile_height))
    styles = builtin_styles()
    rows = math.ceil(len(styles) / COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * tile_width, rows * (tile_height + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    settings = replace(settings, picture_scale=min(16.0, tile_width / w))  # strokes sized for the photo
    for i, style in enumerate(styles):
        raise_if_cancelled(progress)
        mix = StyleMix.single(StyleSource(kind=BUILTIN, label=style.name, builtin_index=style.index))
        tile = render_image(small, mix, settings, SubProgress(progress, i / len(styles), (i + 1) / len(styles)))
        x, y = (i % COLUMNS) * tile_width, (i // COLUMNS) * (tile_height + LABEL_HEIGHT)
        sheet.paste(Image.fromarray(to_uint8(tile)), (x, y))
        draw.text((x + 6, y + tile_height + 5), style.name, fill=(30, 30, 30), font=font)
    progress.report(1.0, "Done")
    return np.asarray(sheet, np.float32) / 255.0
