"""Mode 1: learn a style from a folder of pictures (unpaired, adversarial fine-tuning).

Start from the zero-shot style (the mean embedding of the style pictures), then train adversarially:
a multi-scale PatchGAN tells patches of the style pictures from patches of painted content photos,
and the generator side moves the style (its embedding; with the thorough preset also every
normalisation layer's own parameters) to fool it. A feature-statistics term (mean and spread of the
style predictor's features, as the discriminator's judgement is noisy for a 100-number style) steadies
it; a content term on the predictor's features (only beyond the zero-shot style's own drift) and total
variation keep the photo readable. A plain function of its configuration,
data and a progress object; deterministic for a seed; checkpointed and resumable.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import locations
from ..document.image_io import to_uint8
from ..document.style_file import StyleFile, write_style_file
from ..progress import NullProgress, Progress
from .checkpoint import Checkpoints, optimizer_tensors, resume_run, rng_state, with_prefix
from .config import StyleTrainingConfig
from .data import augmenter, batch, centre_crop, default_content, load_folder, prepare, style_view
from .discriminator import MultiScalePatchDiscriminator
from .events import TrainingEvent, emit, wait_while_paused
from .losses import content_loss, discriminator_hinge, feature_statistics_loss, generator_hinge, total_variation
from .metrics import edge_ssim, patch_swd

log = logging.getLogger(__name__)

BATCH = 2
# content is measured relative to the zero-shot style's own content loss (1 = as readable as zero-shot)
WEIGHTS = {"adversarial": 1.0, "statistics": 1.0, "content": 2.0, "tv": 0.5, "anchor": 0.05}
CONTENT_SLACK = 1.25
PREVIEW_EVERY = 20


@dataclass
class TrainResult:
    style: StyleFile
    path: Path | None
    metrics: dict
    steps_done: int
    cancelled: bool
    seconds: float
    skipped: list[str] = field(default_factory=list)


def slug(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "style"


def output_path(config) -> Path:
    return Path(config.output) if config.output else locations.user_styles_dir() / f"{slug(config.name)}.sfstyle"


def checkpoint_dir_for(config) -> Path:
    return locations.data_dir() / "training" / slug(config.name)


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


class _Style:
    """What is being learnt: the embedding, and with the thorough preset per-layer norm parameters."""

    def __init__(self, transformer, embedding: torch.Tensor, tune_norms: bool) -> None:
        self.transformer = transformer
        self.embedding = embedding.clone().requires_grad_(True)
        self.norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        if tune_norms:
            with torch.no_grad():
                params = transformer.norm_parameters(embedding[None])
            self.norms = [(g[0].clone().requires_grad_(True), b[0].clone().requires_grad_(True)) for g, b in params]

    def parameters(self) -> list[torch.Tensor]:
        params = [self.embedding]
        if self.norms is not None:
            params += [t for pair in self.norms for t in pair]
        return params

    def norm_parameters(self, n: int):
        if self.norms is None:
            return self.transformer.norm_parameters(self.embedding[None].expand(n, -1))
        return [(g[None].expand(n, -1), b[None].expand(n, -1)) for g, b in self.norms]

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {"embedding": self.embedding.detach().cpu().clone()}
        if self.norms is not None:
            for i, (g, b) in enumerate(self.norms):
                out[f"norm.{i}.gamma"] = g.detach().cpu().clone()
                out[f"norm.{i}.beta"] = b.detach().cpu().clone()
        return out

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.embedding.copy_(tensors["embedding"])
            if self.norms is not None:
                for i, (g, b) in enumerate(self.norms):
                    g.copy_(tensors[f"norm.{i}.gamma"])
                    b.copy_(tensors[f"norm.{i}.beta"])


def _paint(transformer, style: _Style, images: list[np.ndarray], device) -> list[np.ndarray]:
    out = []
    with torch.no_grad():
        for rgb in images:
            x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(device)
            h, w = x.shape[-2:]
            x = torch.nn.functional.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
            y = transformer.decode(transformer.encode(x), style.norm_parameters(1))[..., :h, :w]
            out.append(y[0].permute(1, 2, 0).cpu().numpy())
    return out


def evaluate(transformer, style: _Style, zero_shot: _Style, photos: list[np.ndarray], style_images: list[np.ndarray],
             device) -> dict:
    """The trained style against the zero-shot one on photos the training never saw."""
    trained, baseline = _paint(transformer, style, photos, device), _paint(transformer, zero_shot, photos, device)
    return {
        "held_out_photos": len(photos),
        "patch_swd_trained": round(patch_swd(trained, style_images), 4),
        "patch_swd_zero_shot": round(patch_swd(baseline, style_images), 4),
        "edge_ssim_trained": round(float(np.mean([edge_ssim(p, t) for p, t in zip(photos, trained)])), 4),
        "edge_ssim_zero_shot": round(float(np.mean([edge_ssim(p, t) for p, t in zip(photos, baseline)])), 4),
    }


def held_out_photos(count: int = 3) -> list[np.ndarray]:
    """Photos for the metrics, never trained on: landscapes generated with seeds training never uses."""
    from ..samples import sample_landscapes

    return sample_landscapes(count, size=(320, 224), first_seed=9001)


def train_style(
    config: StyleTrainingConfig,
    progress: Progress = NullProgress(),
    resume: bool = False,
    held_out: list[np.ndarray] | None = None,
) -> TrainResult:
    from ..engine.device import select_device
    from ..engine.embeddings import predict_embedding
    from ..engine.weights import load_network

    started = time.perf_counter()
    progress.report(0.0, "Reading the pictures")
    styles = load_folder(config.styles, "style")
    skipped = list(styles.skipped)
    if config.content is not None:
        content = load_folder(config.content, "content")
        skipped += content.skipped
        content_images = content.images
    else:
        content_images = default_content()
    content_images = content_images + list(config.extra_content)

    device = select_device(config.device)
    with torch.inference_mode(False):
        transformer = load_network("style_transformer", device)
        predictor = load_network("style_predictor", device)
    # seeded after the networks load: building them (first time in a process) draws random numbers
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    zero_shot_embedding = torch.stack([predict_embedding(img, device) for img in styles.images]).mean(0).clone()
    zero_shot_embedding = zero_shot_embedding.detach().clone().float()
    style = _Style(transformer, zero_shot_embedding, config.tune_norms)
    baseline = _Style(transformer, zero_shot_embedding, False)
    discriminator = MultiScalePatchDiscriminator(3).to(device)
    opt_g = torch.optim.Adam(style.parameters(), lr=0.01, betas=(0.5, 0.99))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=4e-4, betas=(0.5, 0.99))
    crops = augmenter(config.size)
    style_images = style_view(styles.images)
    style_crops = augmenter(config.size, scale=(0.5, 1.0))  # near the brushwork's own scale
    style_pool = prepare(style_images, config.size)
    content_pool = prepare(content_images, config.size)
    preview_photo = config.preview_photo if config.preview_photo is not None else content_images[0]

    checkpoints = Checkpoints(checkpoint_dir_for(config))
    step = 0
    if resume:
        tensors, step = resume_run(checkpoints, config.name, config.settings(), {"opt_g": opt_g, "opt_d": opt_d}, rng)
        style.load(with_prefix(tensors, "style."))
        discriminator.load_state_dict(with_prefix(tensors, "d."))
        progress.report(step / config.total_steps, f"Resuming at step {step}")

    total = config.total_steps
    losses: dict[str, float] = {}
    # the zero-shot style's own losses set the scale of the content and statistics terms; measured on
    # centre crops, so the figures (and the random streams) are the same whether a run starts or resumes
    centre = centre_crop(config.size)
    with torch.no_grad():
        probe = batch(content_pool, np.arange(min(4, len(content_pool))), centre).to(device)
        reference = content_loss(predictor, transformer.decode(transformer.encode(probe),
                                                                 baseline.norm_parameters(len(probe))), probe)
        reference = max(float(reference), 1e-6)
        style_probe = batch(style_pool, np.arange(min(4, len(style_pool))), centre).to(device)
        zero_shot_paint = transformer.decode(transformer.encode(probe), baseline.norm_parameters(len(probe)))
        stats_reference = max(float(feature_statistics_loss(predictor, zero_shot_paint, style_probe)), 1e-6)
    session_start, session_first = time.perf_counter(), step
    cancelled = False
    with torch.inference_mode(False), torch.enable_grad():
        while step < total:
            wait_while_paused(progress)
            if progress.cancelled:
                cancelled = True
                break
            content = batch(content_pool, rng.integers(0, len(content_pool), BATCH), crops).to(device)
            real = batch(style_pool, rng.integers(0, len(style_pool), BATCH), style_crops).to(device)
            with torch.no_grad():
                features = transformer.encode(content)
            painted = transformer.decode(features, style.norm_parameters(BATCH))

            d_loss = discriminator_hinge(discriminator(real), discriminator(painted.detach()))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            adversarial = generator_hinge(discriminator(painted))
            statistics = feature_statistics_loss(predictor, painted, real) / stats_reference
            structure = content_loss(predictor, painted, content) / reference
            # the photo must stay about as readable as the zero-shot style keeps it: only drift beyond
            # that costs (a plain content loss would pull the style back towards the photo)
            readability = torch.relu(structure - CONTENT_SLACK)
            smooth = total_variation(painted)
            anchor = (style.embedding - zero_shot_embedding).pow(2).mean()
            g_loss = (WEIGHTS["adversarial"] * adversarial + WEIGHTS["statistics"] * statistics
                      + WEIGHTS["content"] * readability + WEIGHTS["tv"] * smooth + WEIGHTS["anchor"] * anchor)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            step += 1

            losses = {"D": d_loss.item(), "G adv": adversarial.item(), "statistics": statistics.item(),
                      "content": structure.item()}
            elapsed = time.perf_counter() - session_start
            eta = elapsed / max(1, step - session_first) * (total - step)
            preview = None
            if step % PREVIEW_EVERY == 0 or step == total:
                preview = _paint(transformer, style, [_small(preview_photo)], device)[0]
            emit(progress, TrainingEvent(step, total, losses, elapsed, eta, preview))
            if step % config.checkpoint_every == 0 and step < total:
                _save(checkpoints, config, step, style, discriminator, opt_g, opt_d, rng)

    if cancelled and step == 0:
        return TrainResult(StyleFile(config.name, "embedding", baseline.tensors()), None, {}, 0, True,
                           time.perf_counter() - started, skipped)
    if cancelled:  # keep the run resumable from exactly here
        _save(checkpoints, config, step, style, discriminator, opt_g, opt_d, rng)
    progress.report(0.97, "Measuring the result")
    photos = held_out if held_out is not None else held_out_photos()
    metrics = evaluate(transformer, style, baseline, photos, style_images, device)
    preview = _paint(transformer, style, [_small(preview_photo, 256)], device)[0]
    info = {"kind_detail": "style from pictures", "training": config.settings(), "metrics": metrics,
            "steps_done": step, "cancelled": cancelled, "style_images": styles.names,
            "seconds": round(time.perf_counter() - started, 1)}
    result = StyleFile(config.name, "embedding", {k: v.numpy() for k, v in style.tensors().items()}, info,
                       png_bytes(preview))
    return TrainResult(result, None, metrics, step, cancelled, time.perf_counter() - started, skipped)


def _small(rgb: np.ndarray, side: int = 192) -> np.ndarray:
    from ..document.image_io import resize_array

    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return resize_array(rgb, (max(8, round(w * scale)), max(8, round(h * scale))))


def _save(checkpoints, config, step, style, discriminator, opt_g, opt_d, rng) -> None:
    tensors = {f"style.{k}": v for k, v in style.tensors().items()}
    tensors.update({f"d.{k}": v for k, v in discriminator.state_dict().items()})
    g_tensors, g_meta = optimizer_tensors("opt_g", opt_g)
    d_tensors, d_meta = optimizer_tensors("opt_d", opt_d)
    r_tensors, r_meta = rng_state(rng)
    checkpoints.save({**tensors, **g_tensors, **d_tensors, **r_tensors},
                     {"step": step, "config": config.settings(), "opt_g": g_meta, "opt_d": d_meta, **r_meta})


def save_result(result: TrainResult, config, clear_checkpoint: bool = True) -> TrainResult:
    """Write the style file (atomically); the run's checkpoint goes once the style is safe."""
    path = write_style_file(output_path(config), result.style)
    if clear_checkpoint and not result.cancelled:
        Checkpoints(checkpoint_dir_for(config)).clear()
    result.path = path
    return result
