"""One style space, spatial fusion (paint where each style goes) and photo fusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylefuse_desktop.engine.fusion import fit_to, fuse_photos
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.style_plan import fitted_builtin_embeddings
from stylefuse_desktop.engine.styles import parse_mix


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.chelsea(), (192, 256), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def second_photo() -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.rocket(), (240, 320), anti_aliasing=True).astype(np.float32)


def test_fitted_builtin_embeddings_ship_26_rows_with_a_fit_report():
    embeddings, fit = fitted_builtin_embeddings()
    assert embeddings.shape == (26, 100) and np.isfinite(embeddings).all()
    assert sorted(fit) == list(range(26)) and all(0 <= v < 1 for v in fit.values())
    assert len({tuple(np.round(e, 3)) for e in embeddings}) == 26


def test_mixes_of_every_kind_are_one_embedding_not_a_blend_of_renders(photo, tmp_path, style_rgb):
    from PIL import Image

    path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    a = render_image(photo, parse_mix(["Blue Swirl:0.5", "Ink Wave:0.5"]))
    b = render_image(photo, parse_mix([], [str(path)]))
    mixed = render_image(photo, parse_mix(["Blue Swirl:0.25", "Ink Wave:0.25"], [f"{path}:0.5"]))
    assert np.abs(mixed - (a + b) / 2).mean() > 0.01  # not an output cross-fade
    ab = np.abs(a - b).mean()
    assert np.abs(mixed - a).mean() < ab and np.abs(mixed - b).mean() < ab


def test_spatial_masks_paint_each_style_as_it_looks_alone(photo):
    h, w = photo.shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1.0
    right = 1.0 - left
    mix = parse_mix(["Red Lacquer", "Ink Wave"])
    both = render_image(photo, mix, style_masks=[left, right])
    # single-style references through the same network (the transformer)
    alone_a = render_image(photo, parse_mix(["Red Lacquer:1", "Ink Wave:0"]))
    alone_b = render_image(photo, parse_mix(["Red Lacquer:0", "Ink Wave:1"]))
    margin = 48
    assert np.abs(both[:, : w // 2 - margin] - alone_a[:, : w // 2 - margin]).mean() <= 0.05
    assert np.abs(both[:, w // 2 + margin :] - alone_b[:, w // 2 + margin :]).mean() <= 0.05
    # and the two halves really differ: it is not one style everywhere
    assert np.abs(both[:, : w // 2 - margin] - alone_b[:, : w // 2 - margin]).mean() > 0.08


def test_where_masks_are_empty_the_photo_shows_through(photo):
    h, w = photo.shape[:2]
    top = np.zeros((h, w), np.float32)
    top[: h // 2] = 1.0
    out = render_image(photo, parse_mix(["Fiesta"]), style_masks=[top])
    assert np.abs(out[h // 2 + 8 :] - photo[h // 2 + 8 :]).max() < 1e-5
    assert np.abs(out[: h // 2 - 8] - photo[: h // 2 - 8]).mean() > 0.05


def test_photo_fusion_with_weight_one_gives_that_photos_render(photo, second_photo):
    mix = parse_mix(["Cobalt Strokes:0.5", "Terracotta:0.5"])
    plain = render_image(photo, mix)
    fused = fuse_photos([photo, second_photo], [1.0, 0.0], mix)
    assert fused.shape == photo.shape
    assert np.abs(fused - plain).mean() <= 0.03


def test_photo_fusion_blends_features_into_one_painting(photo, second_photo):
    mix = parse_mix(["Cobalt Strokes:0.5", "Terracotta:0.5"])
    first = fuse_photos([photo, second_photo], [1, 0], mix)
    second = fuse_photos([photo, second_photo], [0, 1], mix)
    fused = fuse_photos([photo, second_photo], [0.5, 0.5], mix)
    assert fused.shape == photo.shape
    distance = np.abs(first - second).mean()
    assert np.abs(fused - first).mean() < distance and np.abs(fused - second).mean() < distance
    assert np.abs(fused - (first + second) / 2).mean() > 0.01  # not a double exposure of two renders


def test_photo_fusion_masks_place_each_photo(photo, second_photo):
    h, w = photo.shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1
    mix = parse_mix(["Golden Haze:0.5", "Fiesta:0.5"])
    fused = fuse_photos([photo, second_photo], [1, 1], mix, masks=[left, 1 - left])
    first = fuse_photos([photo, second_photo], [1, 0], mix)
    second = fuse_photos([photo, second_photo], [0, 1], mix)
    m = 48
    left, right = slice(0, w // 2 - m), slice(w // 2 + m, w)
    # each side is the painting of its own photo, not of the other one
    assert np.abs(fused[:, left] - first[:, left]).mean() < 0.5 * np.abs(fused[:, left] - second[:, left]).mean()
    assert np.abs(fused[:, right] - second[:, right]).mean() < 0.5 * np.abs(fused[:, right] - first[:, right]).mean()


def test_photos_of_other_sizes_are_fitted_without_distortion(second_photo):
    fitted = fit_to(second_photo, (100, 100))
    assert fitted.shape == (100, 100, 3)
    # a centre crop of a uniformly scaled image: the middle column matches the resized original's
    from skimage import transform

    scaled = transform.resize(second_photo, (100, round(320 * 100 / 240)), anti_aliasing=True)
    offset = (scaled.shape[1] - 100) // 2
    assert np.abs(fitted[:, 50] - scaled[:, offset + 50]).mean() < 0.03


@pytest.mark.parametrize("style", ["Cobalt Strokes", "Terracotta"])
@pytest.mark.parametrize("stroke", [4.0, 8.0])
def test_preview_at_lower_scale_matches_the_full_render(style, stroke):
    """What the user sees on screen is what they export: a preview at 1/k size with stroke scale S/k
    equals the full render (stroke scale S) brought down to the preview's size. (With S < k the editor
    paints at the network's size from the full photo and reduces, the same render by construction.)"""
    from skimage import data, transform

    from stylefuse_desktop.document.compositor import resize_rgba

    full_rgb = transform.resize(data.astronaut(), (768, 768), anti_aliasing=True).astype(np.float32)
    k = 4
    preview_rgb = resize_rgba(full_rgb, (192, 192))  # the canvas proxy, reduced as the app reduces it
    mix = parse_mix([style])
    full = render_image(full_rgb, mix, RenderSettings(scale=stroke))
    preview = render_image(preview_rgb, mix, RenderSettings(scale=stroke / k))
    reduced = resize_rgba(full, (192, 192))
    assert np.abs(reduced - preview).mean() <= 0.03


def test_upsampled_paintings_keep_the_photos_fine_detail(photo):
    from skimage import data, transform

    from stylefuse_desktop.engine.render import prepare, resize

    full_rgb = transform.resize(data.astronaut(), (512, 512), anti_aliasing=True).astype(np.float32)
    sharp = render_image(full_rgb, parse_mix(["Sepia Sketch"]), RenderSettings(scale=2))
    prepared = prepare(full_rgb, RenderSettings(scale=2), "multistyle")
    small = torch.from_numpy(render_image(prepared.small[0].permute(1, 2, 0).numpy(), parse_mix(["Sepia Sketch"])))
    plain = resize(small.permute(2, 0, 1)[None], (512, 512))[0].permute(1, 2, 0).numpy()

    def high_pass(x):
        from scipy import ndimage

        grey = x.mean(axis=2)
        return grey - ndimage.gaussian_filter(grey, 1.5)

    detail = high_pass(full_rgb)
    corr_sharp = np.corrcoef(high_pass(sharp).ravel(), detail.ravel())[0, 1]
    corr_plain = np.corrcoef(high_pass(plain).ravel(), detail.ravel())[0, 1]
    assert corr_sharp > corr_plain + 0.15
    assert np.abs(high_pass(sharp)).mean() > 1.05 * np.abs(high_pass(plain)).mean()


def test_a_painted_style_takes_its_region_and_unpainted_styles_fill_the_rest():
    import torch

    from stylefuse_desktop.engine.render import normalise_masks

    right = np.zeros((4, 8), np.float32)
    right[:, 4:] = 1.0
    partition, coverage = normalise_masks([None, right], [0.5, 0.5], (4, 8))
    assert torch.allclose(partition[1, :, 4:], torch.ones(4, 4))
    assert torch.allclose(partition[0, :, :4], torch.ones(4, 4))
    assert torch.all(coverage == 1.0)
    only, coverage = normalise_masks([right], [1.0], (4, 8))
    assert torch.all(coverage[0, 0, :, :4] == 0.0) and torch.all(coverage[0, 0, :, 4:] == 1.0)


@pytest.mark.parametrize("style", ["picture", "Blue Swirl"])
def test_photo_fusion_half_and_half_means_half_and_half(tmp_path, style):
    """A high-contrast photo no longer drowns a soft one: the 50/50 fusion is as far from each photo's
    own painting as from the other's (the transformer's features are balanced before blending; the
    26-style net's encoder normalises each photo itself)."""
    from PIL import Image
    from skimage import data, transform

    vivid = transform.resize(data.astronaut(), (192, 256), anti_aliasing=True).astype(np.float32)
    soft = transform.resize(data.coffee(), (192, 256), anti_aliasing=True).astype(np.float32)
    soft = (0.5 + (soft - 0.5) * 0.35).astype(np.float32)
    if style == "picture":
        Image.fromarray(data.hubble_deep_field()[::2, ::2]).save(tmp_path / "stars.png")
        mix = parse_mix([], [str(tmp_path / "stars.png")])
    else:
        mix = parse_mix([style])
    first = fuse_photos([vivid, soft], [1, 0], mix)
    second = fuse_photos([vivid, soft], [0, 1], mix)
    half = fuse_photos([vivid, soft], [0.5, 0.5], mix)
    to_first, to_second = np.abs(half - first).mean(), np.abs(half - second).mean()
    assert max(to_first, to_second) / min(to_first, to_second) < 1.3  # 1.93 with unbalanced features
