"""One look at every size and in every use: the stroke-size model, built-ins in their own network,
continuity of weights and masks, and the editor's export equal to the command line's render."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylefuse_desktop.engine.fusion import fuse_photos
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.stroke_size import stroke_scale
from stylefuse_desktop.engine.styles import parse_mix


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.chelsea(), (192, 256), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def large_and_small():
    """The same photo at 4000x3000 and at 1000x750 (reduced from the large one, as a camera would)."""
    from skimage import data

    from stylefuse_desktop.document.image_io import resize_array

    source = data.astronaut()[64:448, :512].astype(np.float32) / 255.0  # 512x384, 4:3
    large = resize_array(source, (4000, 3000))
    return large, resize_array(large, (1000, 750))


@pytest.fixture
def picture(tmp_path, style_rgb) -> str:
    path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    return str(path)


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_stroke_size_is_relative_to_the_picture():
    # the same network size for every size of a picture; smaller pictures paint at their own size
    assert stroke_scale(1.0, 4000, 3000, "multistyle") == pytest.approx(4 * stroke_scale(1.0, 1000, 750, "multistyle"))
    assert stroke_scale(1.0, 4000, 3000, "embedding") == pytest.approx(4000 / 512)
    assert stroke_scale(2.0, 4000, 3000, "embedding") == pytest.approx(2 * 4000 / 512)
    assert stroke_scale(1.0, 300, 200, "multistyle") == 1.0
    # the absolute mode ignores the picture's size
    settings = RenderSettings(scale=1.5)
    assert settings.stroke_scale(3000, 4000, "multistyle") == settings.stroke_scale(300, 400, "embedding") == 1.5


@pytest.mark.parametrize("style", ["builtin", "picture"])
def test_default_stroke_size_gives_one_look_at_every_size(large_and_small, picture, style):
    from stylefuse_desktop.document.image_io import resize_array

    large, small = large_and_small
    mix = parse_mix(["Cobalt Strokes"]) if style == "builtin" else parse_mix([], [picture])
    painted_small = render_image(small, mix)
    painted_large = render_image(large, mix)
    reduced = resize_array(painted_large, (1000, 750))
    assert mean_abs(reduced, painted_small) <= 0.04
    # the absolute mode at full size is the old, different look (strokes shrink with the picture)
    assert mean_abs(render_image(small, mix, RenderSettings(scale=1)), painted_small) > 0.04


def test_editor_export_equals_the_command_line_render(tmp_path):
    from skimage import data

    from stylefuse_desktop.cli import main
    from stylefuse_desktop.document.compositor import RenderStore
    from stylefuse_desktop.document.image_io import Photo, read_image, resize_array
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.document.operations import document_from_photo, export
    from stylefuse_desktop.engine.layer_paint import paint_layer

    rgb = resize_array(data.coffee().astype(np.float32) / 255.0, (1200, 800))
    source = tmp_path / "photo.png"
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(source)
    photo = read_image(source)
    doc = document_from_photo(Photo(rgb=photo.rgb), "Photo")
    layer = doc.add_layer(StyleLayer(name="Paint", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),),
                                     strength=0.8, preserve_color=True, stroke_size=1.5))
    renders = RenderStore()
    renders.put(layer.id, paint_layer(doc, layer.id, renders, 1.0))
    exported = export(doc, renders, tmp_path / "editor.png")
    assert main(["render", str(source), "-o", str(tmp_path / "cli.png"), "--style", "Fiesta", "--strength", "0.8",
                 "--preserve-color", "--stroke-size", "1.5"]) == 0
    assert mean_abs(read_image(exported).rgb, read_image(tmp_path / "cli.png").rgb) <= 0.01


@pytest.mark.parametrize("kind", ["builtins", "pictures", "builtin and picture"])
def test_a_one_percent_weight_makes_a_small_change(photo, picture, style_rgb, tmp_path, kind):
    second = tmp_path / "second.png"
    Image.fromarray((np.rot90(style_rgb) * 255).astype(np.uint8)).save(second)
    if kind == "builtins":
        alone, nudged = parse_mix(["Fiesta"]), parse_mix(["Fiesta:1", "Ink Wave:0.01"])
    elif kind == "pictures":
        alone, nudged = parse_mix([], [picture]), parse_mix([], [f"{picture}:1", f"{second}:0.01"])
    else:
        alone, nudged = parse_mix(["Fiesta"]), parse_mix(["Fiesta:1"], [f"{picture}:0.01"])
    assert mean_abs(render_image(photo, nudged), render_image(photo, alone)) <= 0.02


@pytest.mark.parametrize("styles", [("Fiesta", "Ink Wave"), ("Blue Swirl", "picture")])
def test_where_a_mask_is_one_the_style_looks_as_it_does_alone(photo, picture, styles):
    h, w = photo.shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1.0
    first, second = styles
    mix = parse_mix([first] + ([second] if second != "picture" else []), [picture] if second == "picture" else [])
    both = render_image(photo, mix, style_masks=[left, 1.0 - left])
    alone_first = render_image(photo, parse_mix([first]))
    alone_second = render_image(photo, parse_mix([second]) if second != "picture" else parse_mix([], [picture]))
    m = 48
    assert mean_abs(both[:, : w // 2 - m], alone_first[:, : w // 2 - m]) <= 0.05
    assert mean_abs(both[:, w // 2 + m :], alone_second[:, w // 2 + m :]) <= 0.05


@pytest.mark.parametrize("style", ["builtin", "picture"])
def test_fusing_with_weights_one_and_zero_is_the_render(photo, picture, style):
    from skimage import data, transform

    other = transform.resize(data.rocket(), (240, 320), anti_aliasing=True).astype(np.float32)
    mix = parse_mix(["Blue Swirl"]) if style == "builtin" else parse_mix([], [picture])
    assert mean_abs(fuse_photos([photo, other], [1.0, 0.0], mix), render_image(photo, mix)) <= 0.03


@pytest.mark.parametrize("options, message", [
    (["--stroke-size", "0"], "stroke size must be between"),
    (["--stroke-size", "2", "--scale", "2"], "not allowed with argument"),
    (["--scale", "100"], "stroke scale must be between"),
])
def test_bad_stroke_options_are_one_clear_line(tmp_path, capsys, options, message):
    from stylefuse_desktop.cli import main

    source = tmp_path / "photo.png"
    Image.fromarray(np.full((40, 60, 3), 128, np.uint8)).save(source)
    try:
        code = main(["render", str(source), "-o", str(tmp_path / "out.png"), *options])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.png").exists()
