"""Distil each built-in style into the arbitrary-style transformer's space (run once; the result ships).

Where a built-in meets a picture or trained style, the transformer paints the whole mix, so the built-in
must exist there. The 26-style network is a perfect teacher: for any photo it gives the built-in's own
painting. For each built-in this script trains what a trained style carries (``engine/adapters.py``,
the trainer's ``TrainableStyle``): every normalisation layer's own (gamma, beta), started from the built-in's
fitted embedding, and rank-8 low-rank adapters of the transformer's 13 decoder convolutions, started at
zero (step 0 is exactly the fitted embedding). The transformer learns to reproduce the teacher's output
on content photos, at the scale each network paints in the app: stroke size 1 paints built-ins with
the long side at 768 px and the transformer at 512 px, so the teacher paints the photo at 768 px, its
painting is reduced to 512 px, and the student paints the same photo at 512 px. Whole photos are used
(not crops) so the instance norms see the whole-image statistics a render uses.

Loss: mean |diff| of the pixels, of 4x-reduced pixels (colour layout), and a feature term (the style
predictor's activations at two depths, ``training.losses.content_loss``) so strokes and textures are
matched rather than blurred. Adam, cosine decay, seeded: the same command gives the same file.

Training photos: six generated landscapes (``training.data.project_photos``, seeds 201-206) and four
scikit-image photos (astronaut, chelsea, rocket, immunohistochemistry). Held out, never trained on:
scikit-image coffee and hubble_deep_field and two generated landscapes (seeds 301, 302). The error
reported per built-in is the mean |diff| between the distilled transformer's painting and the
teacher's on the held-out photos, after rounding the tensors to float16 as shipped; "fitted" is the
same figure for the fitted embedding alone (``models/builtin_embeddings.safetensors``).

    OMP_NUM_THREADS=1 python tools/distil_builtins.py [--styles 3 6] [--steps 160] [--lr-scale 3] [--threads 1]

(the shipped file: the defaults, all 26 built-ins; about 1.5 minutes a built-in on one loaded core.
Each built-in is seeded by its index, so the order of ``--styles`` does not change the result.)

Writes models/builtin_distilled.safetensors (after each built-in, so a run can be stopped and resumed
with ``--styles`` for the rest; built-ins already in the file are kept) and docs/builtins_distilled.md
(only when writing the shipped file: ``--output elsewhere.safetensors`` is a trial that leaves it alone).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylefuse_desktop.document.style_catalogue import builtin_styles  # noqa: E402
from stylefuse_desktop.engine.adapters import RANK, adapter_parameters  # noqa: E402
from stylefuse_desktop.engine.distilled import distilled_path, read_distilled, save_distilled  # noqa: E402
from stylefuse_desktop.engine.render import pad_to_multiple, resize, to_tensor  # noqa: E402
from stylefuse_desktop.engine.stroke_size import EMBEDDING_FAMILY, MULTISTYLE_FAMILY, REFERENCE_SIDE  # noqa: E402
from stylefuse_desktop.engine.style_plan import fitted_builtin_embeddings  # noqa: E402
from stylefuse_desktop.engine.weights import load_network  # noqa: E402
from stylefuse_desktop.errors import BadInputError  # noqa: E402
from stylefuse_desktop.training.data import project_photos  # noqa: E402
from stylefuse_desktop.training.losses import content_loss  # noqa: E402
from stylefuse_desktop.training.style_trainer import TrainableStyle, paint_with  # noqa: E402

TEACHER_SIDE = REFERENCE_SIDE[MULTISTYLE_FAMILY]
STUDENT_SIDE = REFERENCE_SIDE[EMBEDDING_FAMILY]
SEED = 0
LEARNING_RATES = {"adapters": 2e-3, "norms": 1e-2}
LOSS_WEIGHTS = {"pixels": 1.0, "layout": 0.5, "features": 0.05}
FEATURE_STAGES = (3, 6)
TRAIN_SKIMAGE = ("astronaut", "chelsea", "rocket", "immunohistochemistry")
HELD_OUT_SKIMAGE = ("coffee", "hubble_deep_field")
REPORT = ROOT / "docs" / "builtins_distilled.md"

log = logging.getLogger("distil")


def at_long_side(rgb: np.ndarray, side: int) -> torch.Tensor:
    """[1, 3, h, w] with the long side ``side`` (as ``render.prepare`` sizes a photo for a network)."""
    h, w = rgb.shape[:2]
    k = side / max(h, w)
    return resize(to_tensor(rgb), (round(h * k), round(w * k)))


def photos() -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(training, held-out photos, held-out names), float32 [H, W, 3], long side 768."""
    from skimage import data

    def skimage_photo(name: str) -> np.ndarray:
        return at_long_side(getattr(data, name)().astype(np.float32) / 255.0, TEACHER_SIDE)[0].permute(1, 2, 0).numpy()

    train = project_photos("distil", 6, (TEACHER_SIDE, 512), 201) + [skimage_photo(n) for n in TRAIN_SKIMAGE]
    held = [skimage_photo(n) for n in HELD_OUT_SKIMAGE] + project_photos("distil", 2, (TEACHER_SIDE, 512), 301)
    names = [f"skimage {n}" for n in HELD_OUT_SKIMAGE] + ["generated landscape 301", "generated landscape 302"]
    return train, held, names


class Pair:
    """One photo as both networks see it: the student's input at 512 px (and its encoder features, the
    same for every style) and the teacher's at 768 px."""

    def __init__(self, rgb: np.ndarray, transformer) -> None:
        self.teacher_input = pad_to_multiple(at_long_side(rgb, TEACHER_SIDE))
        self.teacher_size = at_long_side(rgb, TEACHER_SIDE).shape[-2:]
        self.student = at_long_side(rgb, STUDENT_SIDE)
        self.student_rgb = self.student[0].permute(1, 2, 0).numpy()
        with torch.no_grad():
            self.features = transformer.encode(pad_to_multiple(self.student))

    def target(self, teacher, params) -> torch.Tensor:
        """The teacher's painting brought to the student's size (what the render would show)."""
        with torch.no_grad():
            out = teacher.run(self.teacher_input, params)[..., : self.teacher_size[0], : self.teacher_size[1]]
            return resize(out, tuple(self.student.shape[-2:]))


def loss_of(predictor, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pixels = (out - target).abs().mean()
    layout = (F.avg_pool2d(out, 4) - F.avg_pool2d(target, 4)).abs().mean()
    features = content_loss(predictor, out, target, FEATURE_STAGES)
    return (LOSS_WEIGHTS["pixels"] * pixels + LOSS_WEIGHTS["layout"] * layout
            + LOSS_WEIGHTS["features"] * features)


def held_out_error(transformer, tensors: dict[str, np.ndarray], pairs: list[Pair],
                   targets: list[torch.Tensor]) -> float:
    """Mean |diff| against the teacher over the held-out photos, painted as a render paints."""
    painted = paint_with(transformer, tensors, [p.student_rgb for p in pairs], torch.device("cpu"))
    return float(np.mean([np.abs(out - t[0].permute(1, 2, 0).numpy()).mean() for out, t in zip(painted, targets)]))


def distil_one(index: int, steps: int, lr_scale: float, nets, train: list[Pair], held: list[Pair],
               embedding: np.ndarray) -> tuple:
    teacher, transformer, predictor = nets
    onehot = torch.zeros(1, 26)
    onehot[0, index] = 1.0
    params = teacher.norm_parameters(onehot)
    train_targets = [p.target(teacher, params) for p in train]
    held_targets = [p.target(teacher, params) for p in held]
    fitted_error = held_out_error(transformer, {"embedding": embedding}, held, held_targets)

    torch.manual_seed(SEED + index)
    rng = np.random.default_rng(SEED + index)
    with torch.inference_mode(False):
        style = TrainableStyle(transformer, torch.from_numpy(embedding.copy()), SEED + index)
        optimiser = torch.optim.Adam([{"params": adapter_parameters(style.network),
                                       "lr": LEARNING_RATES["adapters"] * lr_scale},
                                      {"params": style.norm_list(), "lr": LEARNING_RATES["norms"] * lr_scale}])
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        first = last = 0.0
        with torch.enable_grad():
            for step in range(steps):
                k = int(rng.integers(len(train)))
                h, w = train_targets[k].shape[-2:]
                out = style.network.decode(train[k].features, style.norm_parameters(1))[..., :h, :w]
                loss = loss_of(predictor, out, train_targets[k])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                value = float(loss.detach())
                first = value if step == 0 else first
                last = 0.9 * last + 0.1 * value if step else value
    # measured as shipped: float16
    tensors = {k: v.numpy().astype(np.float16).astype(np.float32) for k, v in style.tensors().items()}
    error = held_out_error(transformer, tensors, held, held_targets)
    return tensors, fitted_error, error, (first, last)


def write_report(manifest: dict) -> None:
    names = {s.index: s.name for s in builtin_styles()}
    rows = []
    for index, entry in sorted(manifest["styles"].items(), key=lambda kv: int(kv[0])):
        fitted, distilled = entry["fitted_held_out_mean_abs_diff"], entry["held_out_mean_abs_diff"]
        rows.append(f"| {index} | {names[int(index)]} | {fitted:.3f} | {distilled:.3f} | {distilled / fitted:.2f} |")
    done = [e for e in manifest["styles"].values()]
    mean_before = np.mean([e["fitted_held_out_mean_abs_diff"] for e in done])
    mean_after = np.mean([e["held_out_mean_abs_diff"] for e in done])
    REPORT.write_text("\n".join([
        "# Built-ins in the transformer's space: fitted embedding against distillation",
        "",
        "Where a built-in meets a picture or trained style, the arbitrary-style transformer paints the whole "
        "mix, so each built-in needs a version in the transformer's space. Before: a fitted 100-d embedding "
        "alone (`models/fit_builtin_embeddings.py`). After: the built-in's own normalisation parameters and "
        f"rank-{manifest['rank']} adapters of the decoder's 13 convolutions, distilled from the 26-style network "
        "(`tools/distil_builtins.py`, shipped in `models/builtin_distilled.safetensors`).",
        "",
        "Error: mean |diff| (pixels in [0, 1]) between the transformer's painting and the 26-style network's own, "
        f"on held-out photos never trained on ({', '.join(manifest['held_out'])}), each network at the size it "
        f"paints at stroke size 1 ({TEACHER_SIDE} px for the 26-style net, {STUDENT_SIDE} px for the transformer; "
        f"compared at {STUDENT_SIDE} px). Distilled tensors measured after rounding to float16, as shipped. "
        f"{manifest['steps']} steps per built-in (learning rates x{manifest['lr_scale']:g}), seed {SEED}: "
        "`OMP_NUM_THREADS=1 python tools/distil_builtins.py`. Side by side, on the held-out coffee photo: "
        "`docs/builtins_distilled.jpg` (`python docs/make_engine_sheets.py distilled`).",
        "",
        "The fitted embeddings' own fit table (`models/builtin_embeddings_fit.json`, 0.053 to 0.278) compared "
        "both networks at the same 160 px size; the figures here compare them at the sizes a render uses.",
        "",
        "| # | built-in | fitted embedding | distilled | ratio |",
        "|---|---|---|---|---|",
        *rows,
        f"| | **mean** | **{mean_before:.3f}** | **{mean_after:.3f}** | **{mean_after / mean_before:.2f}** |",
        "",
    ]), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--styles", type=int, nargs="*", default=list(range(26)))
    parser.add_argument("--steps", type=int, default=160)
    parser.add_argument("--lr-scale", type=float, default=3.0, help="multiplies both learning rates")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=distilled_path())
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)

    with torch.inference_mode(False):
        teacher = load_network("multistyle").to(memory_format=torch.contiguous_format)
        transformer = load_network("style_transformer").to(memory_format=torch.contiguous_format)
        predictor = load_network("style_predictor").to(memory_format=torch.contiguous_format)
    train_photos, held_photos, held_names = photos()
    train = [Pair(p, transformer) for p in train_photos]
    held = [Pair(p, transformer) for p in held_photos]
    embeddings, _ = fitted_builtin_embeddings()

    styles: dict[int, dict[str, np.ndarray]] = {}
    manifest = {"styles": {}}
    try:  # keep what an earlier run distilled with the same recipe
        previous, previous_manifest = read_distilled(args.output)
        if (previous_manifest.get("steps"), previous_manifest.get("lr_scale")) == (args.steps, args.lr_scale):
            styles = {i: s.tensors for i, s in previous.items()}
            manifest["styles"] = previous_manifest["styles"]
    except BadInputError:
        pass
    manifest.update(rank=RANK, steps=args.steps, lr_scale=args.lr_scale, seed=SEED, teacher_side=TEACHER_SIDE,
                    student_side=STUDENT_SIDE, held_out=held_names, loss_weights=LOSS_WEIGHTS,
                    learning_rates=LEARNING_RATES,
                    metric="held-out mean |diff| against the 26-style network",
                    licence="made by StyleFuse from Magenta's Apache-2.0 weights; Apache-2.0")
    for index in args.styles:
        started = time.perf_counter()
        nets = (teacher, transformer, predictor)
        tensors, fitted_error, error, (first, last) = distil_one(index, args.steps, args.lr_scale, nets, train, held,
                                                                  embeddings[index])
        styles[index] = tensors
        manifest["styles"][str(index)] = {"held_out_mean_abs_diff": round(error, 4),
                                          "fitted_held_out_mean_abs_diff": round(fitted_error, 4),
                                          "seconds": round(time.perf_counter() - started, 1)}
        save_distilled(args.output, styles, manifest)
        if args.output == distilled_path():  # a trial run elsewhere leaves the shipped table alone
            write_report(manifest)
        log.info("built-in %2d: held-out |diff| %.4f (fitted) -> %.4f (distilled); loss %.4f -> %.4f; %.0f s",
                 index, fitted_error, error, first, last, time.perf_counter() - started)
    log.info("wrote %s (%d built-ins): %s", args.output, len(styles), json.dumps(
        {k: v["held_out_mean_abs_diff"] for k, v in manifest["styles"].items()}))


if __name__ == "__main__":
    main()
