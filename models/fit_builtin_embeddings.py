"""Fit a 100-d embedding for each built-in style so that the arbitrary StyleTransformer reproduces
MultiStyleNet's look: one style space for every style (run once; the result ships in this folder).

For each of the 26 styles: start from the zero-shot embedding (the style predictor applied to the
26-style net's own outputs), then optimise the embedding alone with Adam so that the transformer's
output matches the 26-style net's, over generated and scikit-image pictures. The loss has three parts:
mean absolute difference of the pixels, of 4x-reduced pixels (colour layout), and of the Gram matrices
of style-predictor features (texture). Pixels alone would favour a blurred average of the style's
strokes, which scores well on the pixel metric and looks nothing like the style. The fit is reported on
held-out pictures never optimised on: pixel mean |diff| (the figure the render uses to decide whether a
lone built-in may use its embedding) and the texture distance.

    python models/fit_builtin_embeddings.py [--steps 120] [--size 160] [--threads 1]

Writes models/builtin_embeddings.safetensors and models/builtin_embeddings_fit.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from stylefuse_desktop.engine.embeddings import style_image_tensor  # noqa: E402
from stylefuse_desktop.engine.weights import load_network  # noqa: E402
from stylefuse_desktop.samples import make_sample_photo  # noqa: E402

OUTPUT = HERE / "builtin_embeddings.safetensors"
REPORT = HERE / "builtin_embeddings_fit.json"


def pictures(size: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training, held-out) pictures as float32 [H, W, 3]: scikit-image data and generated landscapes."""
    from skimage import data, transform

    def fit(img: np.ndarray, side: int) -> np.ndarray:
        img = img.astype(np.float32)
        if img.max() > 1.0:
            img /= 255.0
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        h, w = img.shape[:2]
        s = side / min(h, w)
        img = transform.resize(img[..., :3], (max(side, round(h * s)), max(side, round(w * s))), anti_aliasing=True)
        top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
        return np.ascontiguousarray(img[top : top + side, left : left + side], dtype=np.float32)

    train_sources = [data.astronaut(), data.chelsea(), data.rocket(), data.immunohistochemistry(),
                     data.camera(), data.colorwheel()]
    held_sources = [data.coffee(), data.hubble_deep_field(), data.cat()]
    generated = [np.asarray(make_sample_photo(seed).resize((480, 320)), np.float32) / 255.0 for seed in (1, 2, 3, 4)]
    train = [fit(p, size) for p in train_sources + generated[:3]]
    held = [fit(p, size) for p in held_sources + generated[3:]]
    return train, held


def nchw(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def gram(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def texture_distance(predictor, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return sum(((gram(a) - gram(b)) ** 2).mean()
               for a, b in zip(predictor.features(out, (3, 6)), predictor.features(target, (3, 6))))


def fit_loss(predictor, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pixels = (out - target).abs().mean()
    layout = (F.avg_pool2d(out, 4) - F.avg_pool2d(target, 4)).abs().mean()
    return 0.5 * pixels + 0.5 * layout + 3.0 * texture_distance(predictor, out, target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--styles", type=int, nargs="*", default=list(range(26)))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    multistyle = load_network("multistyle").to(memory_format=torch.contiguous_format)
    transformer = load_network("style_transformer").to(memory_format=torch.contiguous_format)
    predictor = load_network("style_predictor").to(memory_format=torch.contiguous_format)
    train, held = pictures(args.size)
    x_train, x_held = nchw(train), nchw(held)
    with torch.no_grad():
        features_train = transformer.encode(x_train)
        features_held = transformer.encode(x_held)

    previous = json.loads(REPORT.read_text()) if REPORT.exists() and set(args.styles) != set(range(26)) \
        else {"styles": {}}
    embeddings = np.zeros((26, 100), np.float32)
    if OUTPUT.exists() and set(args.styles) != set(range(26)):
        from safetensors.numpy import load_file

        embeddings = load_file(str(OUTPUT))["embeddings"]
    report = previous
    rng = np.random.default_rng(0)
    for index in args.styles:
        started = time.time()
        onehot = torch.zeros(1, 26)
        onehot[0, index] = 1.0
        with torch.no_grad():
            target_train = multistyle(x_train, onehot.expand(len(train), 26))
            target_held = multistyle(x_held, onehot.expand(len(held), 26))
            # zero-shot start: the predictor's embedding of the style's own outputs
            zero_shot = torch.stack([predictor(style_image_tensor(t.permute(1, 2, 0).numpy()))[0]
                                     for t in target_train]).mean(0, keepdim=True)

        def held_error(e: torch.Tensor, target: torch.Tensor = target_held) -> tuple[float, float]:
            with torch.no_grad():
                out = transformer.decode(features_held, transformer.norm_parameters(e.expand(len(held), 100)))
                return float((out - target).abs().mean()), float(texture_distance(predictor, out, target))

        zero_shot_error = held_error(zero_shot)
        embedding = zero_shot.clone().requires_grad_(True)
        optimiser = torch.optim.Adam([embedding], lr=0.05)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, args.steps)
        for _ in range(args.steps):
            pick = torch.from_numpy(rng.choice(len(train), size=min(args.batch, len(train)), replace=False))
            out = transformer.decode(features_train[pick],
                                     transformer.norm_parameters(embedding.expand(len(pick), 100)))
            loss = fit_loss(predictor, out, target_train[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        fitted = embedding.detach()
        embeddings[index] = fitted[0].numpy()
        fitted_error, fitted_texture = held_error(fitted)
        report["styles"][str(index)] = {
            "held_out_mean_abs_diff": round(fitted_error, 4),
            "held_out_texture_distance": round(fitted_texture, 3),
            "zero_shot_mean_abs_diff": round(zero_shot_error[0], 4),
            "zero_shot_texture_distance": round(zero_shot_error[1], 3),
            "seconds": round(time.time() - started, 1),
        }
        print(f"style {index:2d}: pixels {zero_shot_error[0]:.4f} -> {fitted_error:.4f}, "
              f"texture {zero_shot_error[1]:.2f} -> {fitted_texture:.2f} ({time.time() - started:.0f} s)", flush=True)
        save_file({"embeddings": embeddings}, str(OUTPUT))
        report.update(steps=args.steps, size=args.size, batch=args.batch,
                      held_out=["skimage coffee", "skimage hubble_deep_field", "skimage cat",
                                "generated landscape seed 4"])
        REPORT.write_text(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
