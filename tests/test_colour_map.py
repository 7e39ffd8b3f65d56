"""Trained styles' colour maps: fitted in closed form, carried in the style file, painted and mixed by
weight, kept by training only where validation finds them better (issue 10)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from images import save_float_rgb as save

from stylefuse_desktop.document.style_file import (
    COLOUR_MATRIX,
    COLOUR_OFFSET,
    StyleFile,
    read_style_file,
    style_from_bytes,
    write_style_file,
)
from stylefuse_desktop.engine.color import apply_colour_map, fit_colour_map
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.styles import parse_mix
from stylefuse_desktop.errors import BadInputError
from stylefuse_desktop.training.config import StyleTrainingConfig
from stylefuse_desktop.training.style_trainer import paint_with, train_style

GREY = np.full((3, 3), 1 / 3, np.float32)  # each channel becomes the mean of the three


def _pixels(seed, mix, shift):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(4000, 3)) @ mix * 0.1 + shift).astype(np.float32)


def test_a_fitted_map_gives_the_pixels_the_targets_mean_and_covariance_and_half_goes_half_way():
    painted = _pixels(0, np.array([[1, 0.3, 0], [0, 1, 0.2], [0.1, 0, 0.6]]), (0.4, 0.5, 0.3))
    target = _pixels(1, np.array([[0.5, 0, 0], [0.4, 1, 0], [0, 0.2, 1.3]]), (0.6, 0.3, 0.5))
    matrix, offset = fit_colour_map(painted, target, ridge=0.0)
    mapped = painted @ matrix.T + offset
    np.testing.assert_allclose(mapped.mean(0), target.mean(0), atol=1e-4)
    np.testing.assert_allclose(np.cov(mapped.T), np.cov(target.T), atol=1e-4)
    half_matrix, half_offset = fit_colour_map(painted, target, strength=0.5, ridge=0.0)
    np.testing.assert_allclose(painted @ half_matrix.T + half_offset, (painted + mapped) / 2, atol=1e-5)
    # the least recolouring: pixels already like the target are left as they are
    same_matrix, same_offset = fit_colour_map(target, target)
    np.testing.assert_allclose(same_matrix, np.eye(3), atol=1e-4)
    np.testing.assert_allclose(same_offset, 0, atol=1e-4)


def test_a_grey_set_of_pictures_folds_colours_onto_the_grey_axis():
    painted = _pixels(2, np.eye(3), (0.5, 0.4, 0.3))
    grey = np.repeat(_pixels(3, np.eye(3), 0.5)[:, :1], 3, axis=1)
    matrix, offset = fit_colour_map(painted, grey)
    mapped = painted @ matrix.T + offset
    assert np.abs(mapped - mapped.mean(1, keepdims=True)).max() < 0.01  # no colour left
    assert abs(mapped.std() - grey.std()) < 0.01  # the grey pictures' contrast


def test_a_map_from_nearly_flat_paintings_is_held_within_what_a_style_file_takes():
    from stylefuse_desktop.document.style_file import MAX_COLOUR_MAP_VALUE

    flat = np.full((500, 3), 0.2, np.float32) + np.random.default_rng(5).normal(size=(500, 3)).astype(np.float32) * 1e-4
    matrix, offset = fit_colour_map(flat, _pixels(6, np.eye(3) * 3, 0.5))
    assert max(np.abs(matrix - np.eye(3)).max(), np.abs(offset).max()) <= 8.0 + 1e-5 < MAX_COLOUR_MAP_VALUE


def _style_with_map(matrix=GREY, offset=(0.0, 0.0, 0.0)):
    embedding = np.random.default_rng(4).normal(size=100).astype(np.float32) * 0.5
    return {"embedding": embedding, COLOUR_MATRIX: np.asarray(matrix, np.float32),
            COLOUR_OFFSET: np.asarray(offset, np.float32)}


def test_a_colour_map_round_trips_in_the_style_file_and_a_damaged_one_is_refused(tmp_path):
    tensors = _style_with_map()
    path = write_style_file(tmp_path / "grey.sfstyle", StyleFile("Grey", "embedding", tensors))
    back = read_style_file(path)
    assert all(np.array_equal(back.tensors[k], tensors[k]) for k in tensors)
    assert json.loads(zipfile.ZipFile(path).read("manifest.json"))["format_version"] == 3
    incomplete = {k: v for k, v in tensors.items() if k != COLOUR_OFFSET}
    with pytest.raises(BadInputError, match="colour map is incomplete or out of range"):
        write_style_file(tmp_path / "bad.sfstyle", StyleFile("Bad", "embedding", incomplete))
    with pytest.raises(BadInputError, match="colour map"):
        write_style_file(tmp_path / "bad.sfstyle",
                         StyleFile("Bad", "embedding", {**tensors, COLOUR_MATRIX: GREY * 100}))
    assert not (tmp_path / "bad.sfstyle").exists()


def test_a_version_2_style_file_still_loads_without_a_colour_map():
    from safetensors.numpy import save as save_tensors

    manifest = {"format": "stylefuse.style", "format_version": 2, "kind": "embedding", "name": "Two",
                "tensors": "tensors.safetensors", "preview": None, "info": {}, "adapters": None}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("tensors.safetensors", save_tensors({"embedding": np.zeros(100, np.float32)}))
    style = style_from_bytes(buffer.getvalue())
    assert style.name == "Two" and COLOUR_MATRIX not in style.tensors


def test_a_styles_colour_map_is_painted_and_mixes_by_the_styles_weight(tmp_path, photo_rgb):
    tensors = _style_with_map()
    plain = {"embedding": tensors["embedding"]}
    half = _style_with_map(np.eye(3) + 0.5 * (GREY - np.eye(3)))
    for name, t in (("grey", tensors), ("plain", plain), ("half", half)):
        write_style_file(tmp_path / f"{name}.sfstyle", StyleFile(name, "embedding", t))
    settings = RenderSettings(device="cpu")
    painted = render_image(photo_rgb, parse_mix([str(tmp_path / "plain.sfstyle")]), settings)
    greyed = render_image(photo_rgb, parse_mix([str(tmp_path / "grey.sfstyle")]), settings)
    assert np.abs(painted - painted.mean(2, keepdims=True)).mean() > 0.02  # the style alone has colour
    assert np.abs(greyed - greyed.mean(2, keepdims=True)).max() < 2e-3  # its map takes it all away
    np.testing.assert_allclose(greyed, painted.mean(2, keepdims=True).repeat(3, 2), atol=2e-3)
    # half the style's weight in a mix (with a style of the same embedding): half its map
    mixed = render_image(photo_rgb, parse_mix([f"{tmp_path / 'grey.sfstyle'}:0.5",
                                                f"{tmp_path / 'plain.sfstyle'}:0.5"]), settings)
    halfway = render_image(photo_rgb, parse_mix([str(tmp_path / "half.sfstyle")]), settings)
    assert np.abs(mixed - halfway).max() < 2e-3
    assert np.abs(mixed - painted).mean() > 0.005 and np.abs(mixed - greyed).mean() > 0.005


def test_applying_a_map_clamps_to_the_displayable_range():
    rgb = torch.tensor([[[[0.9]], [[0.5]], [[0.1]]]])
    out = apply_colour_map(rgb, torch.eye(3) * 2, torch.tensor([0.0, -0.5, 0.0]))
    assert out.flatten().tolist() == pytest.approx([1.0, 0.5, 0.2])


@pytest.fixture
def grey_style_folder(tmp_path):
    rng = np.random.default_rng(7)
    for i in range(3):
        yy, xx = np.mgrid[:96, :96]
        grey = 0.5 + 0.35 * np.sin(xx / (3 + i) + rng.random() * 6) * np.cos(yy / 5)
        save(tmp_path / "grey", f"g{i}.png", np.repeat(grey[..., None], 3, axis=2).astype(np.float32))
    return tmp_path / "grey"


def test_training_on_grey_pictures_keeps_a_colour_map_that_greys_the_photo(grey_style_folder, tmp_path, photo_rgb):
    save(tmp_path / "content", "c0.png", photo_rgb)
    save(tmp_path / "content", "c1.png", photo_rgb[::-1])
    config = StyleTrainingConfig(name="grey", styles=grey_style_folder, content=tmp_path / "content", steps=4,
                                 size=64, checkpoint_every=1000)
    result = train_style(config, held_out=[photo_rgb])
    note = result.metrics["validation"]["colour_map"]
    assert note["strength"] > 0 and COLOUR_MATRIX in result.style.tensors
    assert result.metrics["validation"]["score"] < note["score_without"]  # why it was kept
    from stylefuse_desktop.engine.weights import load_network

    net = load_network("style_transformer", torch.device("cpu"))
    ours = paint_with(net, result.style.tensors, [photo_rgb], torch.device("cpu"))[0]
    without = {k: v for k, v in result.style.tensors.items() if not k.startswith("colour.")}
    theirs = paint_with(net, without, [photo_rgb], torch.device("cpu"))[0]
    saturation = lambda rgb: float(np.abs(rgb - rgb.mean(2, keepdims=True)).mean())  # noqa: E731
    assert saturation(ours) < 0.75 * saturation(theirs)


def test_a_colour_map_that_costs_readability_is_refused(grey_style_folder, tmp_path, photo_rgb, monkeypatch):
    from stylefuse_desktop.training import style_trainer

    # a map that flattens every photo to one grey: as close in colour as any, and unreadable
    monkeypatch.setattr(style_trainer, "fit_colour_map",
                        lambda painted, target, strength: (np.zeros((3, 3), np.float32), np.full(3, 0.5, np.float32)))
    save(tmp_path / "content", "c0.png", photo_rgb)
    config = StyleTrainingConfig(name="flat", styles=grey_style_folder, content=tmp_path / "content", steps=4,
                                 size=64, checkpoint_every=1000)
    result = train_style(config, held_out=[photo_rgb])
    assert result.metrics["validation"]["colour_map"]["strength"] == 0.0
    assert COLOUR_MATRIX not in result.style.tensors


def test_the_summary_says_when_and_how_far_the_colours_are_mapped():
    from stylefuse_desktop.training.config import colour_map_note

    assert colour_map_note({"closeness": 0.7, "colour_map": {"strength": 0.0, "closeness_without": 0.7}}) == ""
    assert colour_map_note({}) == ""  # styles trained before colour maps
    half = colour_map_note({"closeness": 0.62, "colour_map": {"strength": 0.5, "closeness_without": 0.71}})
    assert "50% of the way" in half and "0.62" in half and "0.71 without the map" in half
    assert "mapped fully" in colour_map_note({"closeness": 0.6, "colour_map": {"strength": 1.0,
                                                                              "closeness_without": 0.8}})
    # the training dialog's result line says it after the kept snapshot
    from stylefuse_desktop.ui.train_dialog import _chosen

    line = _chosen({"validation": {"chosen_step": 120, "closeness": 0.62,
                                   "colour_map": {"strength": 0.5, "closeness_without": 0.71}}})
    assert line.startswith(" Kept the snapshot of step 120") and "readable. Its colours are mapped 50%" in line
    assert "  " not in line


class _ScriptedValidation:
    """Stands in for the trainer's validation: each map scores ``gain`` less than the snapshot's 0.5."""

    def __init__(self, photo: np.ndarray, gain: float) -> None:
        self.photos, self.detail, self.gain, self.judged = [photo], [], gain, 0
        self.style_images = [np.repeat(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64, 1), 3, axis=2)]

    def judge(self, painted):
        self.judged += 1
        return {"closeness": 0.5 - self.gain, "score": 0.5 - self.gain, "readable": True, "edge_ssim": 0.4}


@pytest.mark.parametrize("gain, kept", [(0.003, False), (0.006, True)])
def test_a_colour_map_is_kept_only_when_it_gains_the_validations_resolution(photo_rgb, gain, kept):
    from stylefuse_desktop.training import style_trainer

    assert style_trainer.COLOUR_MAP_MARGIN == 0.005
    validation = _ScriptedValidation(photo_rgb[:64, :64], gain)
    plain = {"closeness": 0.5, "score": 0.5, "readable": True, "edge_ssim": 0.4}
    scores, colour = style_trainer._Validation.with_colour_map(validation, [photo_rgb[:64, :64]], plain)
    assert validation.judged == len(style_trainer.COLOUR_MAP_STRENGTHS)  # each map, once
    assert (COLOUR_MATRIX in colour) == kept and bool(scores.get("colour_strength")) == kept
    assert scores["score"] == (pytest.approx(0.5 - gain) if kept else 0.5)
    if kept:  # how the snapshot fared without it, for the summary's line
        assert scores["closeness_without"] == 0.5 and scores["readable_without"] is True


def test_a_later_snapshot_that_wins_only_once_mapped_is_the_result(grey_style_folder, tmp_path, photo_rgb,
                                                                    monkeypatch):
    """The map is part of what is chosen: step 8 scores worse than step 4 as painted (0.6 against 0.5) but
    better with its colour map (0.4), so the run keeps step 8 with that map, not step 4 with or without."""
    from stylefuse_desktop.training import style_trainer

    monkeypatch.setattr(style_trainer, "VALIDATE_EVERY", 4)
    # per validation: the snapshot, then its full and half maps (the zero-shot style's figures first)
    figures = iter([1.0, 0.5, 0.5, 0.5, 0.6, 0.4, 0.45])

    def measure(validation, painted):
        ratio = next(figures)
        return {"swd": ratio, "swd_half": ratio, "gap": ratio, "edge_ssim": 0.3, "edge_ssim_detail": 0.3}

    monkeypatch.setattr(style_trainer._Validation, "measure", measure)
    save(tmp_path / "content", "c0.png", photo_rgb)
    config = StyleTrainingConfig(name="mapped later", styles=grey_style_folder, content=tmp_path / "content", steps=8,
                                 size=64, checkpoint_every=1000)
    result = train_style(config, held_out=[np.full((64, 64, 3), 0.5, np.float32)])
    validation = result.metrics["validation"]
    assert validation["chosen_step"] == 8 and validation["closeness"] == pytest.approx(0.4)
    assert validation["colour_map"]["strength"] == 1.0 and validation["colour_map"]["closeness_without"] == 0.6
    assert COLOUR_MATRIX in result.style.tensors
