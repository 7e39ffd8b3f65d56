"""CPU threads fitted to the load other programs put on the machine."""

from __future__ import annotations

import pytest
import torch

from stylefuse_desktop.engine import cpu_load, device


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
    device.render_threads.cache_clear()  # the next render decides afresh, unpatched


@pytest.mark.parametrize("others, expected", [(0.0, 4), (0.4, 4), (1.0, 3), (2.6, 1), (9.0, 1)])
def test_threads_leave_the_cores_other_programs_hold(monkeypatch, restore_threads, others, expected):
    monkeypatch.setattr(device, "configure_threads", lambda: 4)
    monkeypatch.setattr(device, "physical_cores", lambda: 4)
    monkeypatch.setattr(cpu_load.meter, "busy_elsewhere", lambda cores: others)
    monkeypatch.delenv("STYLEFUSE_THREADS", raising=False)
    device.render_threads.cache_clear()
    assert device.fit_threads_to_load() == expected
    assert torch.get_num_threads() == expected


def test_threads_can_be_fixed_and_unknown_load_uses_every_core(monkeypatch, restore_threads):
    monkeypatch.setattr(device, "configure_threads", lambda: 2)
    monkeypatch.setattr(cpu_load.meter, "busy_elsewhere", lambda cores: None)
    monkeypatch.delenv("STYLEFUSE_THREADS", raising=False)
    device.render_threads.cache_clear()
    assert device.fit_threads_to_load() == 2
    monkeypatch.setenv("STYLEFUSE_THREADS", "1")
    device.render_threads.cache_clear()
    assert device.fit_threads_to_load() == 1


def test_the_load_meter_counts_other_programs_not_this_one(monkeypatch):
    samples = iter([(0.0, 0.0, 0.0), (1.0, 2.0, 1.5)])  # 1 s: both cores busy, 1.5 core-seconds ours
    monkeypatch.setattr(cpu_load, "_sample", lambda: next(samples))
    monkeypatch.setattr(cpu_load.os, "cpu_count", lambda: 2)
    meter = cpu_load.LoadMeter()
    assert meter.busy_elsewhere(cores=2) == pytest.approx(0.5)


def test_the_load_meter_waits_out_a_too_short_window(monkeypatch):
    samples = iter([(0.0, 0.0, 0.0), (0.01, 0.0, 0.0), (0.1, 0.05, 0.0)])
    slept = []
    monkeypatch.setattr(cpu_load, "_sample", lambda: next(samples))
    monkeypatch.setattr(cpu_load.time, "sleep", slept.append)
    monkeypatch.setattr(cpu_load.os, "cpu_count", lambda: 1)
    assert cpu_load.LoadMeter().busy_elsewhere(cores=1) == pytest.approx(0.5)
    assert slept == [pytest.approx(0.09)]


@pytest.mark.parametrize("switch, expected", [(None, False), ("", False), ("0", False), ("1", True), ("on", True)])
def test_cudnn_autotuning_only_when_the_switch_asks(monkeypatch, switch, expected):
    if switch is None:
        monkeypatch.delenv("STYLEFUSE_CUDNN_BENCHMARK", raising=False)
    else:
        monkeypatch.setenv("STYLEFUSE_CUDNN_BENCHMARK", switch)
    assert device.cudnn_autotuning() is expected


def test_cpu_tiles_grow_with_free_memory_within_bounds(monkeypatch):
    import io

    from stylefuse_desktop.engine import tiling

    def meminfo(kib):
        return lambda *a, **k: io.StringIO(f"MemTotal: 99999999 kB\nMemAvailable: {kib} kB\n")

    for available_kib, expected in ((512 * 1024, 384), (4 * 1024 * 1024, 1024), (64 * 1024 * 1024, 1536)):
        monkeypatch.setattr("builtins.open", meminfo(available_kib))
        assert tiling.cpu_tile_budget_mb() == expected
    monkeypatch.undo()
    side = tiling.auto_tile_size(torch.device("cpu"), budget_mb=1536)
    assert side * side >= 2048 * 2048  # a 4 MP photo paints in one piece with the largest budget


def test_a_render_fits_its_threads_and_gives_the_count_back(monkeypatch, restore_threads, photo_rgb):
    from stylefuse_desktop.engine.render import RenderSettings, render_image
    from stylefuse_desktop.engine.styles import parse_mix

    device.configure_threads()  # once per process, as any render's first step does
    torch.set_num_threads(2)
    seen = []
    monkeypatch.setattr(device, "fit_threads_to_load", lambda: torch.set_num_threads(1))
    monkeypatch.setattr("stylefuse_desktop.engine.render.paint",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or a[0].small)
    render_image(photo_rgb[:64, :64], parse_mix(["Fiesta"], []), RenderSettings(device="cpu"))
    assert seen == [1] and torch.get_num_threads() == 2
    device.select_device("cpu")  # choosing a device (training does) leaves the count alone
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("switch, warmed", [(None, True), ("0", False)])
def test_choosing_cuda_makes_its_context_in_the_background_unless_switched_off(monkeypatch, switch, warmed):
    import threading

    calls = []
    done = threading.Event()

    def fake_empty(*args, **kwargs):
        calls.append((threading.current_thread().name, kwargs.get("device")))
        return torch.zeros(args)

    def fake_conv(x, weight):
        calls.append((threading.current_thread().name, "conv"))
        done.set()

    if switch is None:
        monkeypatch.delenv("STYLEFUSE_CUDA_WARMUP", raising=False)
    else:
        monkeypatch.setenv("STYLEFUSE_CUDA_WARMUP", switch)
    monkeypatch.setattr(device.torch, "empty", fake_empty)
    monkeypatch.setattr(device.torch.nn.functional, "conv2d", fake_conv)
    before = torch.backends.cudnn.benchmark
    try:
        device.configure_cuda.__wrapped__()
        done.wait(5 if warmed else 0.3)
    finally:
        torch.backends.cudnn.benchmark = before
    expected = [("cuda-warm-up", "cuda"), ("cuda-warm-up", "cuda"), ("cuda-warm-up", "conv")]
    assert calls == (expected if warmed else [])


def test_free_gpu_memory_is_asked_of_the_driver_at_most_once_a_second(monkeypatch):
    asked, clock = [], [100.0]
    monkeypatch.setattr(device.torch.cuda, "mem_get_info", lambda d: asked.append(d) or (len(asked) * 2**30, 2**34))
    monkeypatch.setattr(device.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(device, "_free_memory", {})
    gpu = torch.device("cuda", 0)
    assert [device.free_device_memory(gpu) for _ in range(5)] == [2**30] * 5
    clock[0] += 1.5
    assert device.free_device_memory(gpu) == 2 * 2**30 and len(asked) == 2
