"""Training on the user's images, without Qt: both modes, checkpoints, resume, cancel, bad input."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import torch
from images import save_float_rgb as save
from PIL import Image

from stylefuse_desktop.document.style_file import read_style_file
from stylefuse_desktop.engine.render import render_image
from stylefuse_desktop.engine.styles import parse_mix
from stylefuse_desktop.errors import BadInputError
from stylefuse_desktop.progress import RecordingProgress
from stylefuse_desktop.training import style_trainer
from stylefuse_desktop.training.config import PairsTrainingConfig, StyleTrainingConfig
from stylefuse_desktop.training.discriminator import ConditionalPatchDiscriminator, MultiScalePatchDiscriminator
from stylefuse_desktop.training.pairs_trainer import train_pairs
from stylefuse_desktop.training.style_trainer import save_result, train_style
from stylefuse_desktop.training.synthetic import synthetic_look, texture_style_set


@pytest.fixture
def style_folder(tmp_path):
    for i, img in enumerate(texture_style_set(4, side=320)):
        save(tmp_path / "styles", f"s{i}.png", img)
    return tmp_path / "styles"


@pytest.fixture
def content_folder(tmp_path):
    from skimage import data, transform

    for i, img in enumerate([data.astronaut(), data.chelsea(), data.coffee()]):
        save(tmp_path / "content", f"c{i}.png", transform.resize(img, (320, 400), anti_aliasing=True))
    return tmp_path / "content"


def photos(size=(72, 96), count=8):
    from skimage import data, transform

    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry(),
               data.cat(), data.hubble_deep_field(), data.retina()]
    return [transform.resize(img, size, anti_aliasing=True).astype(np.float32) for img in sources[:count]]


@pytest.fixture
def pair_folders(tmp_path):
    for i, img in enumerate(photos()[:6]):
        save(tmp_path / "before", f"p{i}.png", img)
        save(tmp_path / "after", f"p{i}.png", synthetic_look(img))
    return tmp_path / "before", tmp_path / "after"


def test_conditional_discriminator_judges_source_and_result_together():
    d = ConditionalPatchDiscriminator()
    x, y = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    maps = d.judge(x, y)
    assert len(maps) == 2 and maps[0].shape[:2] == (2, 1) and maps[1].shape[-1] < maps[0].shape[-1]
    with pytest.raises(ValueError, match="expects 6 channels"):
        d(y)  # a result alone is not enough: the discriminator must see D(x, G(x))
    assert MultiScalePatchDiscriminator(3)(y)[0].shape[1] == 1


def test_pairs_training_reduces_l1_and_learns_a_tone_curve_on_tiny_images(pair_folders):
    before, after = pair_folders
    progress = RecordingEvents()
    held = [(img, synthetic_look(img)) for img in photos()[6:8]]
    result = train_pairs(PairsTrainingConfig(name="Curve", before=before, after=after, steps=120, size=64),
                         progress, held_out=held)
    l1 = [e.losses["L1"] for e in progress.events]
    assert np.mean(l1[-20:]) < 0.6 * np.mean(l1[:10])
    assert result.metrics["held_out"]["gain_db"] > 2.0
    assert result.style.kind == "look"


def test_style_training_beats_zero_shot_on_a_generated_style_set(style_folder, content_folder):
    """The fast preset at the training size 256: closer to the style set than the zero-shot style, by
    patch distribution, on photos never trained on, with the photo's edges kept."""
    progress = RecordingEvents()
    held_out = [photos((256, 320), 8)[i] for i in (3, 5, 7)]  # rocket, cat, retina: not in the content set
    result = train_style(StyleTrainingConfig(name="Strokes", styles=style_folder, content=content_folder),
                         progress, held_out=held_out)
    m = result.metrics
    assert m["patch_swd_trained"] < m["patch_swd_zero_shot"]
    assert m["edge_ssim_trained"] > 0.15
    d_losses = [e.losses["D"] for e in progress.events]
    assert np.mean(d_losses[-20:]) < np.mean(d_losses[:10])  # the discriminator learns
    assert any(e.preview is not None for e in progress.events)


@pytest.mark.parametrize("anneal_from", [None, 8])
def test_resuming_an_interrupted_run_ends_where_an_uninterrupted_one_does(style_folder, content_folder, monkeypatch,
                                                                          anneal_from):
    if anneal_from is not None:  # the step sizes shrink from before the interruption on (thorough's schedule)
        monkeypatch.setattr(style_trainer, "ANNEAL_FROM", anneal_from)
        monkeypatch.setattr(style_trainer, "ANNEAL_HALF_LIFE", 4)
    config = StyleTrainingConfig(name="Resumed", styles=style_folder, content=content_folder, steps=24, size=64,
                                 checkpoint_every=5)
    whole = train_style(config, RecordingProgress())
    interrupted = train_style(config, RecordingProgress(cancel_after=13))
    assert interrupted.cancelled and interrupted.steps_done < 24
    resumed = train_style(config, RecordingProgress(), resume=True)
    assert resumed.steps_done == 24 and not resumed.cancelled
    learnt = [k for k in whole.style.tensors if k.startswith(("adapter.", "norm."))]
    assert learnt and all(np.allclose(resumed.style.tensors[k], whole.style.tensors[k], atol=1e-4) for k in learnt)


def test_cancel_stops_at_once_and_keeps_the_style_so_far(style_folder, content_folder, tmp_path):
    progress = RecordingProgress(cancel_after=4)
    config = StyleTrainingConfig(name="Stopped", styles=style_folder, content=content_folder, steps=500, size=64,
                                 output=tmp_path / "stopped.sfstyle")
    result = train_style(config, progress)
    assert result.cancelled and result.steps_done <= 5
    save_result(result, config)
    assert read_style_file(tmp_path / "stopped.sfstyle").info["cancelled"] is True


def test_a_trained_style_round_trips_and_renders(style_folder, content_folder, tmp_path):
    config = StyleTrainingConfig(name="Mine", styles=style_folder, content=content_folder, steps=3, size=64,
                                 preset="thorough", output=tmp_path / "mine.sfstyle")
    save_result(train_style(config), config, keep_worse=True)  # 3 steps: the gate may prefer the instant style
    style = read_style_file(tmp_path / "mine.sfstyle")
    assert style.kind == "embedding" and style.embedding.shape == (100,) and "norm.12.gamma" in style.tensors
    assert "adapter.expand.2.up" in style.tensors
    assert style.info["training"]["preset"] == "thorough" and "patch_swd_trained" in style.info["metrics"]
    assert style.preview_png.startswith(b"\x89PNG")
    photo = photos((64, 80), 1)[0]
    out = render_image(photo, parse_mix([str(tmp_path / "mine.sfstyle")]))
    mixed = render_image(photo, parse_mix([f"{tmp_path / 'mine.sfstyle'}:0.5", "Terracotta:0.5"]))
    assert out.shape == photo.shape and np.abs(out - mixed).mean() > 0.01


def test_a_look_applies_at_any_size_and_before_painting_styles(pair_folders, tmp_path):
    before, after = pair_folders
    config = PairsTrainingConfig(name="Look", before=before, after=after, steps=30, size=64,
                                 output=tmp_path / "look.sfstyle")
    save_result(train_pairs(config), config)
    assert read_style_file(tmp_path / "look.sfstyle").kind == "look"
    big = photos((300, 420), 1)[0]
    looked = render_image(big, parse_mix([str(tmp_path / "look.sfstyle")]))
    assert looked.shape == big.shape and np.abs(looked - big).mean() > 0.005
    half = render_image(big, parse_mix([str(tmp_path / "look.sfstyle")]), settings=_strength(0.5))
    assert np.allclose(half, (big + looked) / 2, atol=1e-4)
    painted = render_image(big, parse_mix([str(tmp_path / "look.sfstyle"), "Ink Wave"]))
    assert np.abs(painted - render_image(big, parse_mix(["Ink Wave"]))).mean() > 0.001


def _strength(value):
    from stylefuse_desktop.engine.render import RenderSettings

    return RenderSettings(strength=value)


# -- bad input -------------------------------------------------------------------------------------

def test_empty_and_unreadable_style_folders_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="empty"):
        train_style(StyleTrainingConfig(name="x", styles=tmp_path / "empty"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"not an image")
    with pytest.raises(BadInputError, match="no readable pictures"):
        train_style(StyleTrainingConfig(name="x", styles=tmp_path / "junk"))
    # pictures that open but are too small to learn from: the error says so, picture by picture
    (tmp_path / "tiny").mkdir()
    for i in range(5):
        Image.new("RGB", (24, 20), (200, 40, 40)).save(tmp_path / "tiny" / f"t{i}.png")
    with pytest.raises(BadInputError, match=r"no readable pictures.*\(t0\.png: 24x20 is too small .*; and 2 more\)"):
        train_style(StyleTrainingConfig(name="x", styles=tmp_path / "tiny"))
    with pytest.raises(BadInputError, match="does not exist"):
        train_style(StyleTrainingConfig(name="x", styles=tmp_path / "missing"))


def test_one_unreadable_picture_is_skipped_and_reported(style_folder, content_folder):
    (style_folder / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    result = train_style(StyleTrainingConfig(name="x", styles=style_folder, content=content_folder, steps=2,
                                             size=64))
    assert any("broken.jpg" in note for note in result.skipped)


def test_huge_pictures_are_reduced_for_training(tmp_path):
    from stylefuse_desktop.training.data import MAX_SIDE, load_folder

    save(tmp_path / "big", "huge.png", np.random.default_rng(0).random((2400, 3000, 3)))
    loaded = load_folder(tmp_path / "big")
    assert max(loaded.images[0].shape[:2]) == MAX_SIDE


def test_pairs_that_do_not_match_are_named(tmp_path, pair_folders):
    before, after = pair_folders
    save(before, "lonely.png", photos()[0])
    with pytest.raises(BadInputError, match="no partner for lonely"):
        train_pairs(PairsTrainingConfig(name="x", before=before, after=after))
    (before / "lonely.png").unlink()
    save(after, "p0.png", photos((80, 96))[0])
    with pytest.raises(BadInputError, match="pair 'p0'.*one size"):
        train_pairs(PairsTrainingConfig(name="x", before=before, after=after))


def test_bad_settings_are_refused():
    with pytest.raises(BadInputError, match="name"):
        StyleTrainingConfig(name="  ")
    with pytest.raises(BadInputError, match="preset"):
        StyleTrainingConfig(name="x", preset="instant")
    with pytest.raises(BadInputError, match="cannot be a style name"):
        PairsTrainingConfig(name="a/b")


def test_out_of_disk_space_writes_nothing_half(style_folder, content_folder, tmp_path, monkeypatch):
    config = StyleTrainingConfig(name="Full", styles=style_folder, content=content_folder, steps=2, size=64,
                                 output=tmp_path / "out" / "full.sfstyle")
    result = train_style(config)
    import stylefuse_desktop.document.atomic as atomic

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", no_space)  # the disk fills while the style file is written
    with pytest.raises(BadInputError, match="No space left"):
        save_result(result, config)
    monkeypatch.undo()
    assert not (tmp_path / "out" / "full.sfstyle").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


class RecordingEvents(RecordingProgress):
    def __init__(self) -> None:
        super().__init__()
        self.events = []

    def observe(self, event) -> None:
        self.events.append(event)


def test_periodic_checkpoints_come_every_n_steps_but_no_more_often_than_every_ten_seconds(monkeypatch):
    from stylefuse_desktop.training import run

    clock = [0.0]
    monkeypatch.setattr(run.time, "perf_counter", lambda: clock[0])

    def step_taking(seconds):
        def train_step():
            clock[0] += seconds
            return {"loss": torch.tensor(0.0)}
        return train_step

    for seconds_a_step, expected in [(1.0, [25, 50, 75]), (0.05, []), (0.25, [50])]:
        clock[0], saved = 0.0, []
        run.run_loop(RecordingProgress(), 0, 100, step_taking(seconds_a_step), lambda: np.zeros((2, 2, 3)),
                     saved.append, 25, torch.device("cpu"))
        assert saved == expected, seconds_a_step
