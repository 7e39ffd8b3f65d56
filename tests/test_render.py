"""Rendering behaviour: strength, colour, stroke scale, mixes, sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylefuse_desktop.document.style_file import StyleFile, write_style_file
from stylefuse_desktop.engine.color import luminance
from stylefuse_desktop.engine.embeddings import predict_embedding
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.styles import StyleMix, parse_mix, resolve_style
from stylefuse_desktop.errors import BadInputError, Cancelled
from stylefuse_desktop.progress import RecordingProgress


def chroma(rgb: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    return (t - luminance(t))[0].permute(1, 2, 0).numpy()


@pytest.fixture
def style_image_path(tmp_path, style_rgb):
    from PIL import Image

    path = tmp_path / "coffee.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    return path


def test_full_strength_changes_the_photo_and_keeps_its_size(photo_rgb):
    out = render_image(photo_rgb, parse_mix(["Cobalt Strokes"]))
    assert out.shape == photo_rgb.shape and out.dtype == np.float32
    assert np.abs(out - photo_rgb).mean() > 0.1


@pytest.mark.parametrize("family", ["builtin", "image"])
def test_strength_zero_returns_the_photo_and_strength_grows_monotonically(photo_rgb, style_image_path, family):
    mix = parse_mix(["Red Lacquer"]) if family == "builtin" else parse_mix([], [str(style_image_path)])
    distances = []
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        out = render_image(photo_rgb, mix, RenderSettings(strength=strength))
        distances.append(float(np.abs(out - photo_rgb).mean()))
    assert distances[0] == 0.0
    assert all(b > a for a, b in zip(distances, distances[1:])), distances


def test_preserve_color_keeps_the_photos_chroma(photo_rgb):
    mix = parse_mix(["Red Grid"])
    plain = render_image(photo_rgb, mix)
    kept = render_image(photo_rgb, mix, RenderSettings(preserve_color=True))
    # chroma (colour minus luma) follows the photo, not the style's reds and blues
    assert np.abs(chroma(kept) - chroma(photo_rgb)).mean() < 0.02
    assert np.abs(chroma(plain) - chroma(photo_rgb)).mean() > 0.08
    # while the light and texture still come from the style, brought to the photo's brightness and
    # contrast: no lifted blacks, no grey walls
    luma = [luminance(torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]).flatten().numpy()
            for x in (kept, plain, photo_rgb)]
    assert np.corrcoef(luma[0], luma[1])[0, 1] > 0.95
    assert abs(luma[0].mean() - luma[2].mean()) < 0.02 and abs(luma[0].std() - luma[2].std()) < 0.02


def test_preserve_color_keeps_the_photos_contrast_on_a_portrait():
    from skimage import data, transform

    portrait = transform.resize(data.astronaut(), (256, 256), anti_aliasing=True).astype(np.float32)
    kept = render_image(portrait, parse_mix(["Frosted Glass"]), RenderSettings(preserve_color=True))

    def luma(x):
        return luminance(torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]).numpy()

    # the spread of light stays the photo's (it fell from 0.29 to 0.18 before), blacks stay dark
    assert abs(luma(kept).std() - luma(portrait).std()) < 0.03
    assert np.percentile(luma(kept), 2) < np.percentile(luma(portrait), 2) + 0.06


def test_same_family_blend_lies_between_its_parts(photo_rgb):
    a = render_image(photo_rgb, parse_mix(["Ink Wave"]))
    b = render_image(photo_rgb, parse_mix(["Red Lacquer"]))
    mixed = render_image(photo_rgb, parse_mix(["Ink Wave:1", "Red Lacquer:1"]))
    ab = np.abs(a - b).mean()
    assert np.abs(mixed - a).mean() < ab and np.abs(mixed - b).mean() < ab
    assert np.abs(mixed - a).mean() > 0.1 * ab and np.abs(mixed - b).mean() > 0.1 * ab


def test_several_style_images_average_their_embeddings(photo_rgb, style_rgb, tmp_path):
    from PIL import Image

    from stylefuse_desktop.engine.embeddings import source_embedding
    from stylefuse_desktop.engine.styles import image_style

    second = np.ascontiguousarray(style_rgb[:, ::-1] * 0.5)
    paths = []
    for i, rgb in enumerate((style_rgb, second)):
        paths.append(tmp_path / f"s{i}.png")
        Image.fromarray((rgb * 255).astype(np.uint8)).save(paths[-1])
    both = source_embedding(image_style(paths), torch.device("cpu"))
    singles = [source_embedding(image_style([p]), torch.device("cpu")) for p in paths]
    assert torch.allclose(both, (singles[0] + singles[1]) / 2, atol=1e-5)


def test_sfstyle_renders_like_the_embedding_it_holds(photo_rgb, style_image_path, tmp_path):
    from stylefuse_desktop.document.image_io import read_image

    embedding = predict_embedding(read_image(style_image_path).rgb, torch.device("cpu")).numpy()
    path = write_style_file(tmp_path / "coffee.sfstyle", StyleFile("Coffee", "embedding", {"embedding": embedding}))
    # fp32: in bf16 the two runs may round differently (the split of work depends on the free cores)
    exact = RenderSettings(precision="fp32")
    from_file = render_image(photo_rgb, parse_mix([str(path)]), exact)
    from_image = render_image(photo_rgb, parse_mix([], [str(style_image_path)]), exact)
    assert np.abs(from_file - from_image).max() < 1e-5


def test_mix_of_all_three_kinds_renders(photo_rgb, style_image_path, tmp_path):
    path = write_style_file(tmp_path / "mine.sfstyle",
                            StyleFile("Mine", "embedding", {"embedding": np.zeros(100, np.float32)}))
    out = render_image(photo_rgb, parse_mix(["Terracotta:0.5", f"{path}:0.25"], [f"{style_image_path}:0.25"]))
    assert out.shape == photo_rgb.shape and np.isfinite(out).all()


def test_stroke_scale_keeps_full_size_and_enlarges_strokes(photo_rgb):
    from skimage import transform

    big = transform.resize(photo_rgb, (192, 256), anti_aliasing=True).astype(np.float32)
    mix = parse_mix(["Fiesta"])
    fine = render_image(big, mix, RenderSettings(scale=1))
    coarse = render_image(big, mix, RenderSettings(scale=2))
    assert coarse.shape == big.shape

    def detail(x):  # high-frequency energy: larger strokes leave less of it
        return np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()

    assert detail(coarse) < 0.8 * detail(fine)


@pytest.mark.parametrize("size", [(40, 40), (13, 97), (61, 97)])
def test_tiny_and_odd_sizes_come_back_at_their_size(size):
    rgb = np.random.default_rng(0).random((*size, 3), dtype=np.float32)
    for mix in (parse_mix(["Golden Haze"]), parse_mix(["Golden Haze"], [])):
        out = render_image(rgb, mix)
        assert out.shape == rgb.shape and np.isfinite(out).all()


def test_progress_is_reported_and_cancel_stops(photo_rgb):
    progress = RecordingProgress()
    render_image(photo_rgb, parse_mix(["Golden Haze"]), progress=progress)
    fractions = [f for f, _ in progress.reports]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    with pytest.raises(Cancelled):
        render_image(photo_rgb, parse_mix(["Golden Haze"]), progress=RecordingProgress(cancel_after=1))


@pytest.mark.parametrize("settings", [dict(strength=1.5), dict(strength=-0.1), dict(scale=0), dict(device="tpu")])
def test_bad_settings_are_refused_clearly(settings):
    with pytest.raises(BadInputError):
        RenderSettings(**settings)


def test_mix_weights_are_normalised_and_validated():
    mix = parse_mix(["Golden Haze:3", "Fiesta:1"])
    assert [w for _, w in mix.components] == [0.75, 0.25]
    with pytest.raises(BadInputError, match="add up to zero"):
        parse_mix(["Golden Haze:0"])
    with pytest.raises(BadInputError, match="bad weight"):
        parse_mix(["Golden Haze:lots"])
    with pytest.raises(BadInputError, match="unknown style"):
        resolve_style("No Such Style")
    assert StyleMix.single(resolve_style("golden-haze")).label == "Golden Haze"


def test_bf16_convolutions_stay_close_to_fp32_and_auto_paints_in_fp32(photo_rgb, style_image_path):
    image_style = parse_mix([], [str(style_image_path)])
    fp32 = render_image(photo_rgb, image_style, RenderSettings(precision="fp32"))
    bf16 = render_image(photo_rgb, image_style, RenderSettings(precision="bf16"))
    assert np.isfinite(bf16).all() and np.abs(fp32 - bf16).mean() <= 0.01
    for style in (image_style, parse_mix(["Cobalt Strokes"])):
        np.testing.assert_array_equal(render_image(photo_rgb, style, RenderSettings(precision="auto")),
                                      render_image(photo_rgb, style, RenderSettings(precision="fp32")))


def test_a_bf16_painting_with_nan_is_painted_again_in_fp32(photo_rgb, style_image_path, monkeypatch):
    import torch

    from stylefuse_desktop.engine.networks import layers

    image_style = parse_mix([], [str(style_image_path)])
    fp32 = render_image(photo_rgb, image_style, RenderSettings(precision="fp32"))
    conv2d = torch.nn.functional.conv2d
    bf16_calls = []

    def broken_in_bf16(x, *args, **kwargs):  # as a CPU's bf16 kernels did: NaN out (docs/bench/train.md)
        y = conv2d(x, *args, **kwargs)
        if x.dtype == torch.bfloat16:
            bf16_calls.append(1)
            return torch.full_like(y, float("nan"))
        return y

    monkeypatch.setattr(layers.F, "conv2d", broken_in_bf16)
    repainted = render_image(photo_rgb, image_style, RenderSettings(precision="bf16"))
    assert bf16_calls  # bf16 was tried
    np.testing.assert_array_equal(repainted, fp32)


def test_auto_precision_is_fp32_and_bf16_only_by_name():
    import torch

    from stylefuse_desktop.engine.precision import resolve

    for device in (torch.device("cuda"), torch.device("cpu")):  # resolving touches no GPU
        assert resolve("auto", device) == torch.float32
        assert resolve("bf16", device) == torch.bfloat16
        assert resolve("fp32", device) == torch.float32


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 3, 2, 7), (1, 3, 37, 20), (2, 1, 9, 11)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_box_mean_is_the_window_average_with_edges_replicated(shape, channels_last):
    import torch.nn.functional as F

    from stylefuse_desktop.engine.upsample import box_mean

    x = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape)))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    for radius in (1, 2):
        k = 2 * radius + 1
        expected = F.avg_pool2d(F.pad(x.contiguous(), (radius,) * 4, mode="replicate"), k, stride=1)
        out = box_mean(x, radius)
        assert out.shape == x.shape
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_upsampled_boxes_cut_from_one_whole_resampling_match_boxes_sampled_alone(monkeypatch):
    from stylefuse_desktop.engine import upsample

    g = torch.Generator().manual_seed(3)
    painting, small_photo, photo = torch.rand(1, 3, 40, 56, generator=g), torch.rand(1, 3, 40, 56, generator=g), \
        torch.rand(1, 3, 100, 140, generator=g)
    boxes = [(range(0, 100), range(0, 140)), (range(13, 61), range(7, 99)), (range(99, 100), range(0, 1))]

    def boxes_of(limit):
        monkeypatch.setattr(upsample, "WHOLE_PIXELS", limit)
        up = upsample.Upsampler(painting, small_photo, 100, 140)
        out = [up.box(r, c, photo[..., r.start : r.stop, c.start : c.stop]) for r, c in boxes]
        return out, up._whole

    alone, kept_none = boxes_of(0)
    cut, kept = boxes_of(100 * 140)
    assert kept_none is None and set(kept) == {"painting", "luma", "gain"}  # each resampled once, whole
    for a, b in zip(alone, cut):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
    again = upsample.Upsampler(painting, small_photo, 100, 140)
    first = again.box(*boxes[1], photo[..., 13:61, 7:99]).clone()
    again.box(*boxes[0], photo)  # a box never changes what the next is cut from
    assert torch.equal(again.box(*boxes[1], photo[..., 13:61, 7:99]), first)
