"""Full resolution in bounded memory: tiles with whole-image statistics, no seams, OOM retry, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylefuse_desktop.engine.norm_plan import NormPlan
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.styles import BUILTIN, StyleMix, StyleSource, parse_mix
from stylefuse_desktop.engine.tiling import TileOutOfMemory, run_stages
from stylefuse_desktop.engine.weights import load_network
from stylefuse_desktop.errors import Cancelled
from stylefuse_desktop.progress import RecordingProgress


@pytest.fixture(scope="module")
def big_photo() -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.astronaut(), (2048, 2048), order=3).astype(np.float32)


@pytest.fixture
def style_path(tmp_path, style_rgb):
    from PIL import Image

    path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(path)
    return path


def builtin(index: int) -> StyleMix:
    return StyleMix.single(StyleSource(kind=BUILTIN, label=str(index), builtin_index=index))


def seam_excess(image: np.ndarray, borders: list[int]) -> float:
    """How much larger the row-to-row change is across tile borders than elsewhere (0 = no seam)."""
    steps = np.abs(np.diff(image, axis=0)).mean(axis=(1, 2))
    at_borders = steps[[b - 1 for b in borders]].mean()
    return float(at_borders / np.median(steps) - 1.0)


@pytest.mark.parametrize("which", ["style image", "26-style net"])
def test_tiled_2048_render_matches_untiled_without_seams(big_photo, style_path, which):
    mix = parse_mix([], [str(style_path)]) if which == "style image" else builtin(3)
    # absolute scale 1: the network paints at full size, so output rows 512, 1024, 1536 are tile borders
    untiled = render_image(big_photo, mix, RenderSettings(tile=4096, scale=1))
    tiled = render_image(big_photo, mix, RenderSettings(tile=512, scale=1))
    assert np.abs(tiled - untiled).mean() <= 0.01
    # the tiled render changes across tile borders no more than the untiled one does there
    borders = [512, 1024, 1536]
    assert np.abs(tiled[[b - 1 for b in borders]] - untiled[[b - 1 for b in borders]]).mean() <= 0.01
    assert np.abs(tiled[borders] - untiled[borders]).mean() <= 0.01
    assert seam_excess(tiled, borders) < seam_excess(untiled, borders) + 0.05
    assert np.abs(tiled[:, [b - 1 for b in borders]] - untiled[:, [b - 1 for b in borders]]).mean() <= 0.01


def test_statistics_are_of_the_whole_image_not_the_tile(style_rgb):
    """Per-tile statistics would make tiles differ; whole-image ones reproduce the untiled net exactly."""
    net = load_network("style_transformer")
    x = torch.from_numpy(np.ascontiguousarray(style_rgb[:256, :256])).permute(2, 0, 1)[None]
    embedding = torch.randn(1, 100) * 0.3
    with torch.inference_mode():
        reference = net(x, embedding)
        plan = NormPlan([net.norm_parameters(embedding)], torch.ones(1))
        features = run_stages(x, net.encoder_stages(), plan, 64, torch.device("cpu")).output
        tiled = run_stages(features, net.decoder_stages(plan), plan, 64, torch.device("cpu"), factor=0.25).output
    assert (tiled - reference).abs().max() < 1e-4


def test_memory_budget_forces_small_tiles_and_the_result_is_unchanged(style_rgb):
    """A device that cannot hold a 128 px tile (simulated): the render retries with smaller tiles."""
    net = load_network("style_transformer")
    x = torch.from_numpy(np.ascontiguousarray(style_rgb[:256, :320])).permute(2, 0, 1)[None]
    embedding = torch.randn(1, 100) * 0.3
    largest = []

    def small_device(window: torch.Tensor, stage) -> None:
        pixels = window.shape[-2] * window.shape[-1]
        if pixels > 110 * 110:
            raise TileOutOfMemory()
        largest.append(pixels)

    with torch.inference_mode():
        reference = net(x, embedding)
        plan = NormPlan([net.norm_parameters(embedding)], torch.ones(1))
        run = run_stages(x, net.encoder_stages(), plan, 512, torch.device("cpu"), oom_check=small_device)
        assert run.tile < 512 and run.tiles > 4
        out = run_stages(run.output, net.decoder_stages(plan), plan, run.tile, torch.device("cpu"),
                         oom_check=small_device, factor=0.25).output
    assert max(largest) <= 110 * 110
    assert (out - reference).abs().max() < 1e-4


def test_cuda_out_of_memory_is_retried_with_smaller_tiles(big_photo, monkeypatch):
    import stylefuse_desktop.engine.tiling as tiling

    calls = {"oom": 0}
    original = tiling._run_stage

    def flaky(boundary, factor, stage, plan, tile, *args):
        if tile > 64 and stage.name == "Measuring" and calls["oom"] < 2:
            calls["oom"] += 1
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(boundary, factor, stage, plan, tile, *args)

    monkeypatch.setattr(tiling, "_run_stage", flaky)
    photo = np.ascontiguousarray(big_photo[:400, :400])
    out = render_image(photo, parse_mix(["Golden Haze:0.5", "Fiesta:0.5"]), RenderSettings(tile=256))
    assert calls["oom"] == 2 and out.shape == photo.shape


def test_progress_per_tile_and_cancel_between_tiles(style_rgb, style_path):
    rgb = np.ascontiguousarray(style_rgb[:256, :256])
    progress = RecordingProgress()
    render_image(rgb, parse_mix([], [str(style_path)]), RenderSettings(tile=64), progress)
    tile_reports = [m for _, m in progress.reports if "/" in m]
    assert len(tile_reports) >= 16
    fractions = [f for f, _ in progress.reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    cancelling = RecordingProgress(cancel_after=5)
    with pytest.raises(Cancelled):
        render_image(rgb, parse_mix([], [str(style_path)]), RenderSettings(tile=64), cancelling)
    assert len(cancelling.reports) <= 6  # stopped at the next tile
