"""Mode 2: learn an editing look from before/after pairs (a conditional GAN, as in pix2pix).

The generator (``LookGenerator``) turns a photo x into G(x); the discriminator judges the pair
D(x, G(x)) against the real pair D(x, y), so it learns what an *edit of x* looks like; an L1 term keeps
G(x) close to y. Pairs are cropped identically at several scales and flipped, and the generator's
position channels give each crop's true place in the frame (a vignette is taught where it is).
Checkpointed, resumable, deterministic for a seed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ..document.style_file import StyleFile
from ..progress import NullProgress, Progress
from .checkpoint import Checkpoints, optimizer_tensors, resume_run, rng_state, with_prefix
from .config import PairsTrainingConfig
from .cuda_graph import GraphedStep, graphs_wanted
from .data import load_pairs, paired_batch, prepare, to_tensor
from .discriminator import ConditionalPatchDiscriminator
from .losses import discriminator_hinge, generator_hinge
from .metrics import psnr
from .run import TrainResult, adam, checkpoint_dir_for, png_bytes, run_loop, small

if TYPE_CHECKING:
    from ..engine.networks.look import LookGenerator

BATCH = 4
L1_WEIGHT = 100.0
HELD_OUT_FRACTION = 0.2


def look_tensors(generator: LookGenerator) -> dict[str, np.ndarray]:
    return {f"look.{k}": v.detach().cpu().numpy() for k, v in generator.state_dict().items()}


def split_pairs(count: int, seed: int) -> tuple[list[int], list[int]]:
    """Held-out pairs for the metrics (a fifth, at least one) when there are 5 or more; else none."""
    order = np.random.default_rng(seed + 7).permutation(count)
    held = max(1, int(count * HELD_OUT_FRACTION)) if count >= 5 else 0
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def apply_numpy(generator: LookGenerator, rgb: np.ndarray, device: torch.device) -> np.ndarray:
    from ..engine.networks.look import apply_look

    with torch.no_grad():
        looked: np.ndarray = apply_look(generator, to_tensor(rgb)[None].to(device))[0].permute(1, 2, 0).cpu().numpy()
    return looked


def measure(generator: LookGenerator, pairs: list[tuple[np.ndarray, np.ndarray]],
            device: torch.device) -> dict[str, float]:
    if not pairs:
        return {}
    learnt = [psnr(apply_numpy(generator, x, device), y) for x, y in pairs]
    untouched = [psnr(x, y) for x, y in pairs]
    return {"psnr_learnt": round(float(np.mean(learnt)), 2), "psnr_untouched": round(float(np.mean(untouched)), 2),
            "gain_db": round(float(np.mean(learnt) - np.mean(untouched)), 2), "pairs": len(pairs)}


def train_pairs(config: PairsTrainingConfig, progress: Progress = NullProgress(), resume: bool = False,
                held_out: list[tuple[np.ndarray, np.ndarray]] | None = None) -> TrainResult:
    """``held_out``: pairs to measure on instead of setting aside a fifth of the user's (benchmarks)."""
    from ..engine.device import select_device
    from ..engine.networks.look import LookGenerator

    started = time.perf_counter()
    # first: on a GPU the CUDA context is made in the background while the pairs are read
    device = select_device(config.device)
    progress.report(0.0, "Reading the pairs")
    loaded = load_pairs(config.before, config.after)
    pairs = [(loaded.images[2 * i], loaded.images[2 * i + 1]) for i in range(len(loaded.names))]
    train_idx, held_idx = split_pairs(len(pairs), config.seed) if held_out is None else (list(range(len(pairs))), [])
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    with torch.inference_mode(False):
        generator = LookGenerator().to(device)
        discriminator = ConditionalPatchDiscriminator().to(device)
    graphed = graphs_wanted(device)
    opt_g = adam(generator.parameters(), 2e-3, (0.5, 0.99), device, capturable=graphed)
    opt_d = adam(discriminator.parameters(), 2e-4, (0.5, 0.99), device, capturable=graphed)
    pool = prepare([img for i in train_idx for img in pairs[i]], config.size, device)

    checkpoints = Checkpoints(checkpoint_dir_for(config))
    step = 0
    if resume:
        tensors, step, _ = resume_run(checkpoints, config.name, config.settings(), {"opt_g": opt_g, "opt_d": opt_d},
                                      rng)
        generator.load_state_dict(with_prefix(tensors, "g."))
        discriminator.load_state_dict(with_prefix(tensors, "d."))

    preview_photo = small(config.preview_photo if config.preview_photo is not None
                          else pairs[held_idx[0] if held_idx else 0][0])

    # each step's crops are copied into these (a step replayed as a CUDA graph reads them where they were)
    x = torch.empty(BATCH, 3, config.size, config.size, device=device)
    y, positions = torch.empty_like(x), torch.empty_like(x)

    def tensor_step() -> dict[str, torch.Tensor]:
        # fp32 throughout: the look network is tiny, and its colour corrections need the precision
        fake = generator(x, positions=positions)
        d_loss = discriminator_hinge(*discriminator.judge_real_and_fake(x, y, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        adversarial = generator_hinge(discriminator.judge(x, fake))
        l1 = F.l1_loss(fake, y)
        g_loss = adversarial + L1_WEIGHT * l1
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return {"D": d_loss.detach(), "G adv": adversarial.detach(), "L1": l1.detach()}

    step_tensors = GraphedStep(tensor_step, graphed)

    def train_step() -> dict[str, torch.Tensor]:
        for static, crops in zip((x, y, positions), paired_batch(pool, rng, BATCH, config.size)):
            static.copy_(crops)
        return step_tensors()

    def checkpoint(at: int) -> None:
        _save(checkpoints, config, at, generator, discriminator, opt_g, opt_d, rng)

    with torch.inference_mode(False), torch.enable_grad():
        step, cancelled = run_loop(progress, step, config.total_steps, train_step,
                                   lambda: apply_numpy(generator, preview_photo, device), checkpoint,
                                   config.checkpoint_every, device)
    step_tensors.release()
    for optimizer in (opt_g, opt_d):
        optimizer.zero_grad(set_to_none=True)  # the gradients of a graph's steps live in its memory

    if cancelled:
        _save(checkpoints, config, step, generator, discriminator, opt_g, opt_d, rng)
    progress.report(0.97, "Measuring the result")
    metrics = {"train": measure(generator, [pairs[i] for i in train_idx], device),
               "held_out": measure(generator, held_out if held_out is not None else [pairs[i] for i in held_idx],
                                   device)}
    preview = apply_numpy(generator, small(pairs[0][0], 256), device)
    info = {"kind_detail": "look from before/after pairs", "training": config.settings(), "metrics": metrics,
            "steps_done": step, "cancelled": cancelled, "pairs": loaded.names,
            "seconds": round(time.perf_counter() - started, 1),
            "architecture": {"generator": "LookGenerator", "width": generator.pointwise[0].out_channels}}
    style = StyleFile(config.name, "look", look_tensors(generator), info, png_bytes(preview))
    return TrainResult(style, None, metrics, step, cancelled, time.perf_counter() - started, loaded.skipped)


def _save(checkpoints: Checkpoints, config: PairsTrainingConfig, step: int, generator: LookGenerator,
          discriminator: ConditionalPatchDiscriminator, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
          rng: np.random.Generator) -> None:
    tensors = {f"g.{k}": v for k, v in generator.state_dict().items()}
    tensors.update({f"d.{k}": v for k, v in discriminator.state_dict().items()})
    g_tensors, g_meta = optimizer_tensors("opt_g", opt_g)
    d_tensors, d_meta = optimizer_tensors("opt_d", opt_d)
    r_tensors, r_meta = rng_state(rng)
    checkpoints.save({**tensors, **g_tensors, **d_tensors, **r_tensors},
                     {"step": step, "config": config.settings(), "opt_g": g_meta, "opt_d": d_meta, **r_meta})
