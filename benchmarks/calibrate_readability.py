"""How well do generated photos predict how readable a trained style keeps real photos? For every
validation snapshot of a style training run, the change in edge SSIM (snapshot against zero-shot) on
several photo sets: the run's views of content photos ("validation"), other generated landscapes, the
detail photos validation uses (``data.detail_photos``), and real photos from scikit-image in two sets:
a calibration set (camera, coins, clock, moon, motorcycle) and the held-out set bench_train.py judges by
(astronaut, cat, coffee, rocket). Measures only: nothing here steers training. ``--keep`` saves each
snapshot's weights, to score other photos on them later.

    python benchmarks/calibrate_readability.py --sets skimage tissue --preset balanced --json-out calib.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("STYLEFUSE_DATA_DIR", tempfile.mkdtemp())

import bench_train  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from trace_selection import SETS  # noqa: E402

from stylefuse_desktop.training import style_trainer  # noqa: E402
from stylefuse_desktop.training.config import StyleTrainingConfig  # noqa: E402
from stylefuse_desktop.training.data import detail_photos, project_photos, to_tensor  # noqa: E402
from stylefuse_desktop.training.metrics import edge_ssim  # noqa: E402


def calibration_photos() -> list[np.ndarray]:
    from skimage import data, transform

    out = []
    for name in ("camera", "coins", "clock", "moon", "stereo_motorcycle"):
        img = getattr(data, name)()
        img = img[0] if isinstance(img, tuple) else img
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out.append(transform.resize(img[..., :3], (256, 320), anti_aliasing=True).astype(np.float32))
    return out


def photo_sets() -> dict[str, list[np.ndarray]]:
    return {
        "landscapes": project_photos("trace", 4, (320, 224), 7001),
        "detail": detail_photos(),  # the validation's own
        "calibration": calibration_photos(),
        "held_out": bench_train.skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320)),
    }


class Probe:
    """Edge SSIM change of each snapshot on every photo set (zero-shot figures measured once)."""

    def __init__(self, sets: dict[str, list[np.ndarray]]) -> None:
        self.sets = {k: [p[: p.shape[0] // 4 * 4, : p.shape[1] // 4 * 4] for p in v] for k, v in sets.items()}
        self.features: dict[str, list[torch.Tensor]] = {}
        self.zero: dict[str, float] = {}

    def edge(self, name: str, decode, params) -> float:
        with torch.no_grad():
            painted = [decode(f, params)[0].clamp(0, 1).permute(1, 2, 0).numpy() for f in self.features[name]]
        return float(np.mean([edge_ssim(p, q) for p, q in zip(self.sets[name], painted)]))

    def start(self, transformer, zero_params) -> None:
        with torch.no_grad():
            for name, photos in self.sets.items():
                self.features[name] = [transformer.encode(to_tensor(p)[None]) for p in photos]
                self.zero[name] = self.edge(name, transformer.decode, zero_params)

    def changes(self, style) -> dict[str, float]:
        params = style.norm_parameters(1)
        return {name: self.edge(name, style.network.decode, params) - self.zero[name] for name in self.sets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out")
    parser.add_argument("--keep", help="save every snapshot's weights in this folder (to score other photos later)")
    args = parser.parse_args()
    probe = Probe(photo_sets())
    original_init, original_score = style_trainer._Validation.__init__, style_trainer._Validation.score
    work = Path(tempfile.mkdtemp())
    for set_name in args.sets:
        def init(validation, transformer, *rest):
            original_init(validation, transformer, *rest)
            probe.start(transformer, rest[-2])  # the zero-shot style's norm parameters

        def score(validation, style, set_name=set_name):
            scored = original_score(validation, style)
            scores = scored.plain
            row = {"set": set_name, "seed": args.seed, "validation": scores["edge_ssim_change"],
                   "closeness": scores["closeness"], **probe.changes(style)}
            print("  ", {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            if args.json_out:
                with open(args.json_out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
            if args.keep:
                from safetensors.torch import save_file

                index = sum(1 for _ in Path(args.keep).glob(f"{set_name}-s{args.seed}-*.safetensors"))
                save_file(style.tensors(), str(Path(args.keep) / f"{set_name}-s{args.seed}-{index:02d}.safetensors"))
            return scored

        style_trainer._Validation.__init__, style_trainer._Validation.score = init, score
        folder = bench_train.save_all(work / set_name, SETS[set_name]())
        config = StyleTrainingConfig(name=f"calibrate {set_name}", styles=folder, preset=args.preset, seed=args.seed)
        with torch.inference_mode(False):
            style_trainer.train_style(config, held_out=probe.sets["held_out"])
    style_trainer._Validation.__init__, style_trainer._Validation.score = original_init, original_score


if __name__ == "__main__":
    main()
