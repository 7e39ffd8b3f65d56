"""Our torch networks against the reference ONNX graphs (weights dequantized to float), run by onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from stylefuse_desktop.engine.networks.layers import ReflectConv
from stylefuse_desktop.engine.normalization import instance_moments
from stylefuse_desktop.engine.onnx_import import dequantize_model
from stylefuse_desktop.engine.weights import load_network, verified_onnx_path

PARITY = 1e-4


def float_session(file_name: str) -> ort.InferenceSession:
    model = dequantize_model(onnx.load(str(verified_onnx_path(file_name))))
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def nchw(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def images():
    from skimage import data, transform

    pictures = [data.astronaut(), data.chelsea(), data.coffee()]
    return [transform.resize(p, (256, 256), anti_aliasing=True).astype(np.float32) for p in pictures]


def test_style_predictor_matches_reference(images):
    session = float_session("arbitrary_predict.onnx")
    net = load_network("style_predictor")
    for rgb in images:
        reference = session.run(None, {"style_image": rgb[None]})[0].reshape(1, 100)
        with torch.inference_mode():
            ours = net(nchw(rgb)).numpy()
        assert np.abs(ours - reference).mean() <= PARITY


@pytest.mark.parametrize("size", [(384, 384), (200, 300)])
def test_style_transformer_matches_reference(images, size):
    session = float_session("arbitrary_transform.onnx")
    predictor, net = load_network("style_predictor"), load_network("style_transformer")
    from skimage import transform

    content = transform.resize(images[0], size, anti_aliasing=True).astype(np.float32)
    for style in images[1:]:
        with torch.inference_mode():
            embedding = predictor(nchw(style))
            ours = net(nchw(content), embedding)[0].permute(1, 2, 0).numpy()
        reference = session.run(None, {"content_image": content[None],
                                       "mobilenet_conv/Conv/BiasAdd": embedding.numpy().reshape(1, 1, 1, 100)})[0][0]
        assert ours.shape == content.shape
        assert np.abs(ours - reference).mean() <= PARITY


@pytest.mark.parametrize("size", [(256, 256), (180, 244), (97, 61)])
def test_multistyle_matches_reference_for_single_styles_and_mixes(images, size):
    session = ort.InferenceSession(str(verified_onnx_path("multistyle26.onnx")), providers=["CPUExecutionProvider"])
    net = load_network("multistyle")
    from skimage import transform

    content = transform.resize(images[1], size, anti_aliasing=True).astype(np.float32)
    x = content.transpose(2, 0, 1)[None].copy()
    eye = np.eye(26, dtype=np.float32)
    mixes = [eye[5], eye[19] * 0.3 + eye[2] * 0.7]
    for weights in mixes:
        h, w = size
        ph, pw = (-h) % 4, (-w) % 4  # the reference graph wants multiples of 4: pad as our network does
        padded = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
        reference = session.run(None, {"image": padded, "style_weights": weights})[0][..., :h, :w]
        with torch.inference_mode():
            ours = net(torch.from_numpy(x), torch.from_numpy(weights)[None]).numpy()
        assert ours.shape == x.shape
        assert np.abs(ours - reference).mean() <= PARITY


@pytest.mark.parametrize("cin,cout,kernel,stride", [(3, 8, 9, 1), (8, 16, 3, 2), (32, 32, 3, 1), (4, 3, 9, 1)])
@pytest.mark.parametrize("size", [(300, 301), (517, 263)])
def test_reflect_conv_border_fixup_equals_explicit_padding(cin, cout, kernel, stride, size):
    torch.manual_seed(0)
    conv = ReflectConv(cin, cout, kernel, stride)
    for memory_format in (torch.contiguous_format, torch.channels_last):
        x = torch.rand(1, cin, *size).contiguous(memory_format=memory_format)
        with torch.inference_mode():
            reference = conv.conv(F.pad(x, (kernel // 2,) * 4, mode="reflect"))
            ours = conv(x)
        assert ours.shape == reference.shape
        assert (ours - reference).abs().max() < 1e-4


@pytest.mark.parametrize("channels", [3, 8, 32])
def test_fast_moments_match_float64(channels):
    x = (torch.randn(1, channels, 700, 900) * 2 + 3).contiguous(memory_format=torch.channels_last)
    var64, mean64 = torch.var_mean(x.double(), dim=(2, 3), keepdim=True, correction=0)
    with torch.inference_mode():
        mean, var = instance_moments(x)
    assert (mean.double() - mean64).abs().max() < 1e-5
    assert ((var.double() - var64).abs() / var64).max() < 1e-5
