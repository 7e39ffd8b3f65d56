"""The document model without Qt or torch: blend modes, compositing, history, projects, autosave."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from stylefuse_desktop.document.autosave import Autosaver
from stylefuse_desktop.document.blend import BlendMode, blend, composite_over
from stylefuse_desktop.document.compositor import Painted, RenderStore, composite
from stylefuse_desktop.document.document import Document, LayerLocked
from stylefuse_desktop.document.image_io import Photo, read_image
from stylefuse_desktop.document.layers import (
    FusionLayer,
    FusionSource,
    ImageLayer,
    StyleEntry,
    StyleLayer,
    StyleRef,
)
from stylefuse_desktop.document.operations import NeedsPainting, document_from_photo, export, flatten, merge_down
from stylefuse_desktop.document.png16 import decode_png16, encode_png16
from stylefuse_desktop.document.project import PROJECT_VERSION, load_project, project_bytes, save_project
from stylefuse_desktop.document.raster import Raster
from stylefuse_desktop.document.style_file import StyleFile, style_to_bytes
from stylefuse_desktop.errors import BadInputError


def _exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "StyleFuseCam"
    return exif.tobytes()


EXIF = _exif()
CB = np.array([[0.2, 0.5, 0.9]], np.float32)
CS = np.array([[0.7, 0.3, 0.4]], np.float32)


@pytest.mark.parametrize("mode,expected", [
    ("normal", CS),
    ("multiply", CB * CS),
    ("screen", CB + CS - CB * CS),
    ("darken", np.minimum(CB, CS)),
    ("lighten", np.maximum(CB, CS)),
    ("difference", np.abs(CB - CS)),
    # overlay = hard light with the layers swapped: backdrop <= 0.5 multiplies, else screens
    ("overlay", np.array([[2 * 0.2 * 0.7, 2 * 0.5 * 0.3, 1 - 2 * (1 - 0.9) * (1 - 0.4)]], np.float32)),
    ("hard-light", np.array([[1 - 2 * (1 - 0.2) * (1 - 0.7), 2 * 0.5 * 0.3, 2 * 0.9 * 0.4]], np.float32)),
])
def test_separable_blend_modes_follow_their_formulas(mode, expected):
    assert np.allclose(blend(mode, CB, CS), expected, atol=1e-6)


def test_soft_light_follows_the_w3c_formula():
    cb, cs = np.float32(0.2), np.float32(0.7)
    d = ((16 * cb - 12) * cb + 4) * cb  # cb <= 0.25
    expected = cb + (2 * cs - 1) * (d - cb)
    assert np.isclose(blend("soft-light", np.full((1, 3), cb), np.full((1, 3), cs))[0, 0], expected, atol=1e-6)


def lum(c):
    return 0.3 * c[..., 0] + 0.59 * c[..., 1] + 0.11 * c[..., 2]


def test_color_and_luminosity_swap_luminance_and_chroma():
    color = blend("color", CB, CS)
    assert np.isclose(lum(color), lum(CB), atol=1e-5).all()  # keeps the backdrop's luminance
    luminosity = blend("luminosity", CB, CS)
    assert np.isclose(lum(luminosity), lum(CS), atol=1e-5).all()  # takes the source's luminance
    # the hue of the result follows the source for 'color': same ordering of channels
    assert np.argmax(color[0]) == np.argmax(CS[0])


def test_opacity_and_alpha_compositing():
    backdrop = np.concatenate([CB, [[1.0]]], axis=1).astype(np.float32)
    half = composite_over(backdrop, CS, np.array([[0.5]], np.float32), BlendMode.NORMAL)
    assert np.allclose(half[0, :3], 0.5 * CB[0] + 0.5 * CS[0]) and half[0, 3] == 1.0
    empty = np.zeros((1, 4), np.float32)
    over_nothing = composite_over(empty, CS, np.array([[0.25]], np.float32), BlendMode.MULTIPLY)
    assert np.allclose(over_nothing[0, :3], CS[0]) and np.isclose(over_nothing[0, 3], 0.25)


def photo_doc(width=8, height=6, colour=(0.2, 0.4, 0.6)) -> Document:
    rgb = np.empty((height, width, 3), np.float32)
    rgb[:] = colour
    return document_from_photo(Photo(rgb=rgb), "Photo")


def add_image(doc: Document, colour, name="Top", **kwargs) -> ImageLayer:
    rgb = np.empty((doc.height, doc.width, 3), np.float32)
    rgb[:] = colour
    return doc.add_layer(ImageLayer(name=name, raster=Raster.from_float(np.dstack([rgb, np.ones(rgb.shape[:2])])),
                                    **kwargs))


def test_compositor_applies_blend_mode_opacity_and_mask():
    doc = photo_doc()
    top = add_image(doc, (0.5, 0.5, 0.5), blend_mode=BlendMode.MULTIPLY, opacity=0.5)
    mask = np.ones((6, 8), np.float32)
    mask[:, :4] = 0.0
    doc.set(top.id, "mask", mask)
    out = composite(doc)
    base = np.array([0.2, 0.4, 0.6])
    assert np.allclose(out[0, 0, :3], base, atol=2 / 255)  # masked out: the photo
    assert np.allclose(out[0, 7, :3], base * (1 - 0.5) + 0.5 * base * 0.5, atol=2 / 255)  # half multiply
    doc.set(top.id, "visible", False)
    assert np.allclose(composite(doc)[0, 7, :3], base, atol=2 / 255)


def test_positioned_and_scaled_image_layer():
    doc = photo_doc(10, 10, (0, 0, 0))
    small = np.ones((4, 4, 4), np.float32)
    doc.add_layer(ImageLayer(name="Dot", raster=Raster.from_float(small), x=2, y=3, scale=0.5))
    out = composite(doc)
    assert out[3, 2, 0] == 1.0 and out[4, 3, 0] == 1.0  # 2x2 placed at (2, 3)
    assert out[5, 2, 0] == 0.0 and out[3, 4, 0] == 0.0


def test_an_enlarged_photo_resamples_only_what_lands_on_the_canvas():
    from stylefuse_desktop.document.compositor import resize_rgba

    rng = np.random.default_rng(0)
    rgba = np.dstack([rng.random((40, 60, 3), dtype=np.float32), np.ones((40, 60), np.float32)])
    layer = ImageLayer(name="Big", raster=Raster.from_float(rgba), x=-37, y=-21, scale=3.0)
    doc = photo_doc(50, 30, (0, 0, 0))
    doc.add_layer(layer)
    expected = resize_rgba(layer.raster.to_float(), (180, 120))[21:51, 37:87]  # enlarge all, then crop
    assert np.abs(composite(doc) - expected).mean() < 0.01
    layer.scale = 400.0  # 24000x16000 if enlarged whole: the canvas still composites at once
    assert composite(doc).shape == (30, 50, 4)


def test_placing_a_photo_layer_moves_its_pixels_and_a_drag_is_one_undo_step():
    doc = photo_doc(10, 10, (0, 0, 0))
    dot = doc.add_layer(ImageLayer(name="Dot", raster=Raster.from_float(np.ones((2, 2, 4), np.float32))))
    steps = len(doc.history.entries)
    doc.history.begin_gesture()
    for x in (1, 3, 5):  # the moves of one drag
        doc.place(dot.id, x, 4)
    doc.history.end_gesture()
    assert len(doc.history.entries) == steps + 1 and doc.history.undo_text == "Move Dot"
    out = composite(doc)
    assert out[4, 5, 0] == 1.0 and out[5, 6, 0] == 1.0 and out[0, 0, 0] == 0.0
    doc.place(dot.id, -1, 9)  # partly off the canvas: what is on it still shows
    out = composite(doc)
    assert out[9, 0, 0] == 1.0 and out[:9, :, :3].max() == 0.0 and out[9, 1:, :3].max() == 0.0
    doc.history.undo()
    doc.history.undo()
    assert (dot.x, dot.y) == (0, 0) and composite(doc)[0, 0, 0] == 1.0
    doc.place(dot.id, 0, 0, scale=2.0)
    assert doc.history.undo_text == "Scale Dot" and composite(doc)[3, 3, 0] == 1.0


def test_placing_refuses_locked_layers_non_photos_and_absurd_scales():
    doc = photo_doc()
    photo = doc.layers[0]
    style = doc.add_layer(StyleLayer(name="Style"))
    with pytest.raises(BadInputError, match="not a photo layer"):
        doc.place(style.id, 1, 1)
    with pytest.raises(BadInputError, match="scale"):
        doc.place(photo.id, 0, 0, scale=0.0)
    doc.set(photo.id, "locked", True)
    with pytest.raises(LayerLocked):
        doc.place(photo.id, 1, 1)
    assert (photo.x, photo.y, photo.scale) == (0, 0, 1.0)


def test_style_layers_show_their_painting_once_it_exists():
    doc = photo_doc()
    style = doc.add_layer(StyleLayer(name="Style", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    renders = RenderStore()
    assert np.allclose(composite(doc, renders)[..., :3], composite(doc, renders, below=1)[..., :3])
    painted = np.zeros((6, 8, 4), np.float32)
    painted[..., 0] = 1.0
    painted[..., 3] = 1.0
    renders.put(style.id, Painted(painted, 1.0, doc.signature(style)))
    assert np.allclose(composite(doc, renders)[0, 0], [1, 0, 0, 1])


def test_undo_redo_every_change_and_drags_are_one_step():
    doc = photo_doc()
    layer = doc.layers[0]
    doc.history.begin_gesture()
    for value in (0.9, 0.8, 0.7, 0.6):
        doc.set(layer.id, "opacity", value)
    doc.history.end_gesture()
    assert doc.history.entries == ["Opacity of Photo"] and layer.opacity == 0.6
    doc.set(layer.id, "blend_mode", BlendMode.SCREEN)
    top = add_image(doc, (1, 0, 0))
    doc.move_layer(top.id, 0)
    assert doc.layers[0] is top
    for _ in range(4):
        doc.history.undo()
    assert layer.opacity == 1.0 and layer.blend_mode == BlendMode.NORMAL and len(doc.layers) == 1
    for _ in range(4):
        doc.history.redo()
    assert layer.opacity == 0.6 and doc.layers[0] is top and len(doc.layers) == 2
    doc.history.go_to(1)
    assert layer.opacity == 0.6 and layer.blend_mode == BlendMode.NORMAL


def test_mask_painting_is_undone_by_box():
    doc = photo_doc()
    layer = doc.layers[0]
    after = np.zeros((2, 3), np.float32)
    doc.paint(layer.id, "mask", (1, 1, 4, 3), None, after)
    assert layer.mask[1:3, 1:4].max() == 0.0 and layer.mask[0, 0] == 1.0
    doc.paint(layer.id, "mask", (0, 0, 2, 2), layer.mask[0:2, 0:2].copy(), np.full((2, 2), 0.5, np.float32))
    assert layer.mask[0, 0] == 0.5 and layer.mask[1, 1] == 0.5 and layer.mask[2, 2] == 0.0
    doc.history.undo()
    assert layer.mask[0, 0] == 1.0 and layer.mask[1, 1] == 0.0
    doc.history.undo()
    assert layer.mask is None  # the first stroke made the mask: undoing it removes it


def test_locked_layers_refuse_edits_but_not_visibility():
    doc = photo_doc()
    layer = doc.layers[0]
    doc.set(layer.id, "locked", True)
    with pytest.raises(LayerLocked, match="locked"):
        doc.set(layer.id, "opacity", 0.5)
    with pytest.raises(LayerLocked):
        doc.remove_layer(layer.id)
    doc.set(layer.id, "visible", False)
    assert not layer.visible


def test_merge_down_and_flatten_bake_pixels_in_one_undoable_step():
    doc = photo_doc()
    add_image(doc, (1.0, 1.0, 1.0), blend_mode=BlendMode.MULTIPLY, opacity=0.5)
    before = composite(doc)
    renders = RenderStore()
    merged = merge_down(doc, doc.layers[1].id, renders)
    assert len(doc.layers) == 1 and doc.layers[0] is merged
    assert np.abs(composite(doc) - before).max() <= 1 / 255
    doc.history.undo()
    assert len(doc.layers) == 2
    style = doc.add_layer(StyleLayer(name="S", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    with pytest.raises(NeedsPainting) as err:
        flatten(doc, renders)
    assert err.value.layer_ids == [style.id]
    renders.put(style.id, Painted(np.ones((6, 8, 4), np.float32), 1.0, doc.signature(style)))
    flat = flatten(doc, renders)
    assert [lay.id for lay in doc.layers] == [flat.id] and composite(doc)[0, 0, 0] == 1.0


def test_painting_goes_stale_when_what_it_paints_from_changes():
    doc = photo_doc()
    style = doc.add_layer(StyleLayer(name="S", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    signature = doc.signature(style)
    doc.set(doc.layers[0].id, "name", "Renamed")
    assert doc.signature(style) == signature  # a name changes no pixel
    doc.set(doc.layers[0].id, "opacity", 0.5)
    assert doc.signature(style) != signature


def test_png16_round_trip():
    pixels = (np.random.default_rng(0).random((7, 5, 4)) * 65535).astype(np.uint16)
    assert np.array_equal(decode_png16(encode_png16(pixels)), pixels)
    from PIL import Image

    # and other programs read our files as real 16-bit PNGs
    im = Image.open(io.BytesIO(encode_png16(pixels[..., :1])))
    assert im.size == (5, 7) and np.array_equal(np.asarray(im), pixels[..., 0])


def full_document() -> Document:
    rng = np.random.default_rng(1)
    rgb16 = rng.random((20, 30, 3)).astype(np.float32)
    doc = document_from_photo(Photo(rgb=rgb16, bit_depth=16, exif=EXIF), "Sixteen")
    top = add_image(doc, (0.9, 0.1, 0.1), name="Red", blend_mode=BlendMode.SCREEN, opacity=0.4)
    top.mask = np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30)
    mine = StyleFile("Mine", "embedding", {"embedding": np.ones(100, np.float32)})
    user = StyleRef("user", "Mine", style_to_bytes(mine))
    weights = np.zeros((20, 30), np.float32)
    weights[:, :15] = 1
    doc.add_layer(StyleLayer(name="Paint", styles=(StyleEntry(StyleRef("builtin", "Fiesta"), 0.3, weights),
                                                   StyleEntry(user, 0.7)), strength=0.8, preserve_color=True,
                             stroke_size=1.5))
    doc.add_layer(FusionLayer(name="Fuse", sources=(FusionSource(doc.layers[0].id, 0.6, weights),
                                                    FusionSource(top.id, 0.4)),
                              styles=(StyleEntry(StyleRef("builtin", "Ink Wave")),), visible=False))
    return doc


def test_project_round_trip_keeps_every_layer_kind(tmp_path):
    doc = full_document()
    path = save_project(doc, tmp_path / "art.sfproj")
    back, _ = load_project(path)
    assert back.size == doc.size and len(back.layers) == 4
    for a, b in zip(doc.layers, back.layers):
        assert (a.kind, a.id, a.name, a.visible, a.opacity, a.blend_mode) == (b.kind, b.id, b.name, b.visible,
                                                                             b.opacity, b.blend_mode)
    assert back.layers[0].raster.bit_depth == 16
    assert np.array_equal(back.layers[0].raster.data, doc.layers[0].raster.data)
    assert back.layers[0].exif == EXIF
    assert np.abs(back.layers[1].mask - doc.layers[1].mask).max() < 1e-4
    paint = back.layers[2]
    assert [e.style.key for e in paint.styles] == [e.style.key for e in doc.layers[2].styles]
    assert paint.styles[1].style.style_file().embedding[0] == 1.0
    assert np.array_equal(paint.styles[0].weight_map, doc.layers[2].styles[0].weight_map)
    assert (paint.strength, paint.preserve_color, paint.stroke_size) == (0.8, True, 1.5)
    fuse = back.layers[3]
    assert [s.layer_id for s in fuse.sources] == [s.layer_id for s in doc.layers[3].sources]
    assert np.allclose(composite(back), composite(doc), atol=1e-4)  # masks are stored at 16 bits


def test_damaged_project_is_refused_and_nothing_changes(tmp_path):
    data = project_bytes(full_document())
    for damaged in (data[: len(data) // 2], b"PK\x03\x04 nonsense", b""):
        path = tmp_path / "bad.sfproj"
        path.write_bytes(damaged)
        with pytest.raises(BadInputError, match="damaged|not a StyleFuse|missing"):
            load_project(path)


def test_newer_project_version_is_refused(tmp_path):
    path = tmp_path / "future.sfproj"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "stylefuse.project", "format_version": PROJECT_VERSION + 1}))
    with pytest.raises(BadInputError, match="newer than this StyleFuse"):
        load_project(path)


def test_version_0_project_is_migrated(tmp_path):
    from PIL import Image

    pixels = io.BytesIO()
    Image.new("RGBA", (6, 4), (10, 200, 30, 255)).save(pixels, format="PNG")
    path = tmp_path / "old.sfproj"
    manifest = {"canvas": [6, 4], "layers": [
        {"type": "image", "name": "Photo", "opacity": 100, "file": "photo.png"},
        {"type": "style", "name": "Painted", "opacity": 50, "hidden": True, "blend": "screen",
         "style": "Blue Swirl", "strength": 0.7},
    ]}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("photo.png", pixels.getvalue())
    doc, _ = load_project(path)
    photo, style = doc.layers
    assert photo.raster.data[0, 0].tolist() == [10, 200, 30, 255]
    assert style.opacity == 0.5 and not style.visible and style.blend_mode == BlendMode.SCREEN
    assert style.styles[0].style == StyleRef("builtin", "Blue Swirl") and style.strength == 0.7


def test_export_writes_full_size_with_exif(tmp_path):
    doc = full_document()
    doc.remove_layer(doc.layers[3].id)
    doc.remove_layer(doc.layers[2].id)
    out = export(doc, RenderStore(), tmp_path / "export.jpg", quality=90)
    from PIL import Image

    im = Image.open(out)
    assert im.size == (30, 20) and im.format == "JPEG" and im.getexif()[0x010F] == "StyleFuseCam"
    single = export(doc, RenderStore(), tmp_path / "red.png", layer_id=doc.layers[1].id)
    assert read_image(single).alpha is not None  # the masked layer alone keeps its transparency


def test_autosave_offers_recovery_after_a_crash(tmp_path):
    folder = tmp_path / "autosave"
    crashed = Autosaver(folder, pid=999_999_999)  # a process id no longer running
    crashed.start()
    doc = full_document()
    crashed.save(doc)
    now = Autosaver(folder)
    now.start()
    found = now.recoverable()
    assert len(found) == 1
    recovered, _ = now.recover(found[0])
    assert [lay.name for lay in recovered.layers] == [lay.name for lay in doc.layers]
    now.discard(found[0])
    assert now.recoverable() == []
    now.save(doc)
    now.finish()
    assert list(folder.iterdir()) == []
