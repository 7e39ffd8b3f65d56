"""Training steps replayed as CUDA graphs (``training.cuda_graph``), and the optimizer state that such a
step needs (step sizes as tensors) saved and resumed. The graph tests need a CUDA GPU (the device machine);
the checkpoint tests run anywhere."""

from __future__ import annotations

import json

import pytest
import torch

from stylefuse_desktop.training import cuda_graph
from stylefuse_desktop.training.checkpoint import load_optimizer, optimizer_tensors
from stylefuse_desktop.training.cuda_graph import WARMUP_STEPS, GraphedStep
from stylefuse_desktop.training.run import adam, set_step_size

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")


def _tiny_training(device: torch.device, capturable: bool, steps: int, halve_at: int):
    """A small regression trained with Adam: -> (final weights, the step function's last loss, the wrapper)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(device)
    optimizer = adam(model.parameters(), 0.05, (0.5, 0.99), device, capturable=capturable)
    inputs = torch.zeros(32, 8, device=device)
    targets = torch.zeros(32, 1, device=device)
    data = torch.Generator().manual_seed(1)

    def step() -> dict[str, torch.Tensor]:
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    graphed = GraphedStep(step, cuda_graph.graphs_wanted(device))
    losses = []
    for i in range(steps):
        x = torch.randn(32, 8, generator=data)
        inputs.copy_(x.to(device))
        targets.copy_((x[:, :1] * 2 - x[:, 1:2]).to(device))
        set_step_size(optimizer.param_groups[0], 0.05 if i < halve_at else 0.005)
        losses.append(float(graphed()["loss"]))
    return torch.cat([p.detach().flatten().cpu() for p in model.parameters()]), losses, graphed


@needs_cuda
def test_a_captured_step_trains_as_the_eager_one_and_follows_step_size_changes(monkeypatch):
    cuda = torch.device("cuda")
    steps, halve_at = WARMUP_STEPS + 12, WARMUP_STEPS + 6
    monkeypatch.setenv("STYLEFUSE_CUDA_GRAPHS", "0")
    eager, eager_losses, unreplayed = _tiny_training(cuda, capturable=True, steps=steps, halve_at=halve_at)
    monkeypatch.delenv("STYLEFUSE_CUDA_GRAPHS")
    replayed, replayed_losses, graphed = _tiny_training(cuda, capturable=True, steps=steps, halve_at=halve_at)
    assert graphed.captured and not unreplayed.captured
    # the same steps: each replay read the inputs and the step size filled before it
    assert replayed_losses == pytest.approx(eager_losses, rel=1e-4, abs=1e-6)
    assert torch.allclose(replayed, eager, atol=1e-5)
    assert replayed_losses[-1] < replayed_losses[0] / 2  # and it learnt


@needs_cuda
def test_a_step_that_cannot_be_captured_goes_on_eagerly_and_leaves_cuda_usable(monkeypatch, caplog):
    monkeypatch.setattr(cuda_graph, "_capture_failed", False)
    cuda = torch.device("cuda")
    total = torch.zeros((), device=cuda)
    seen = []

    def step() -> dict[str, torch.Tensor]:
        total.add_(1)
        seen.append(float(total))  # a read back to the host: forbidden while capturing
        return {"total": total}

    graphed = GraphedStep(step, cuda_graph.graphs_wanted(cuda))
    for _ in range(WARMUP_STEPS + 3):
        graphed()
    assert not graphed.captured and "without CUDA graphs" in caplog.text
    assert float(total) == WARMUP_STEPS + 3  # every call was one real step, the failed capture none
    assert torch.cuda.current_stream() == torch.cuda.default_stream()
    torch.cuda.empty_cache()  # the allocator is out of the capture's pool
    assert (torch.ones(4, device=cuda) * 2).sum().item() == 8
    assert not cuda_graph.graphs_wanted(cuda)  # no later run in this process tries again


def test_step_sizes_as_tensors_round_trip_through_a_checkpoint_as_numbers():
    cpu = torch.device("cpu")
    weights = torch.nn.Parameter(torch.ones(3))
    saved = torch.optim.Adam([weights], lr=0.1)
    saved.param_groups[0]["lr"] = torch.tensor(0.25)  # as a CUDA-graph optimizer holds it
    weights.grad = torch.ones(3)
    saved.step()
    tensors, meta = optimizer_tensors("opt", saved)
    meta = json.loads(json.dumps(meta))  # what the checkpoint's JSON keeps
    assert meta["param_groups"][0]["lr"] == 0.25

    live = adam([torch.nn.Parameter(torch.ones(3))], 0.1, (0.9, 0.999), cpu)
    step_size = torch.tensor(0.1)
    live.param_groups[0]["lr"] = step_size
    load_optimizer("opt", live, tensors, meta)
    assert live.param_groups[0]["lr"] is step_size and float(step_size) == 0.25
    assert torch.equal(live.state[live.param_groups[0]["params"][0]]["exp_avg"], saved.state[weights]["exp_avg"])


def test_a_checkpoint_keeps_this_devices_way_of_running_the_optimizer():
    """Saved by a GPU run (fused, captured) and resumed on a CPU, the optimizer still runs on the CPU."""
    weights = torch.nn.Parameter(torch.ones(3))
    saved = torch.optim.Adam([weights], lr=0.1)
    weights.grad = torch.ones(3)
    saved.step()
    tensors, meta = optimizer_tensors("opt", saved)
    meta["param_groups"][0].update(fused=True, capturable=True)
    live_weights = torch.nn.Parameter(torch.ones(3))
    live = adam([live_weights], 0.1, (0.9, 0.999), torch.device("cpu"))
    load_optimizer("opt", live, tensors, meta)
    assert not live.param_groups[0]["capturable"] and not live.param_groups[0]["fused"]
    live_weights.grad = torch.ones(3)
    live.step()  # would fail with the GPU's settings
    assert float(live_weights.detach()[0]) < 1.0
