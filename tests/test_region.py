"""Real pixels for the canvas: any region of a render, painted at full resolution with the whole
image's statistics, equals that region of the full export."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylefuse_desktop.engine.render import RenderSettings, paint_image, render_image
from stylefuse_desktop.engine.styles import parse_mix


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    from stylefuse_desktop.document.image_io import resize_array

    return resize_array(data.coffee().astype(np.float32) / 255.0, (1200, 800))


@pytest.mark.parametrize("case", ["builtin, colour kept, strength", "picture", "built-in and picture by masks"])
def test_a_region_painted_for_the_view_equals_that_region_of_the_export(photo, tmp_path, style_rgb, case):
    path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    masks = None
    settings = RenderSettings()
    if case.startswith("builtin"):
        mix = parse_mix(["Ink Wave"])
        settings = RenderSettings(preserve_color=True, strength=0.7)
    elif case == "picture":
        mix = parse_mix([], [str(path)])
    else:
        mix = parse_mix(["Fiesta"], [str(path)])
        left = np.zeros(photo.shape[:2], np.float32)
        left[:, :600] = 1.0
        masks = [left, 1.0 - left]
    export = render_image(photo, mix, settings, style_masks=masks)
    painted = paint_image(photo, mix, settings, style_masks=masks)
    for rows, cols in ((range(100, 356), range(500, 820)), (range(0, 64), range(1100, 1200)),
                       (range(737, 800), range(0, 1200))):
        region = painted.region(rows, cols)
        assert region.shape == (len(rows), len(cols), 3)
        assert np.abs(region - export[rows.start : rows.stop, cols.start : cols.stop]).max() <= 0.01
