"""Diagnosis for the style trainer's snapshot selection: at every validation, the snapshot's figures on
the validation photos beside its figures on the held-out photos of bench_train.py (scikit-image's
astronaut, cat, coffee, rocket) and, with --landscapes, on generated landscapes never trained on (other
seeds; the kind the product's gate uses), and always on the final check's photos, as the run's final
check would measure it (``style_trainer.final_check``), and the same way on the detail photos and on
the gate's generated scenes (``data.GATE_SCENE_PHOTOS``). Measures only: nothing here steers training,
except ``--scenes-bound`` (an experiment: the scenes then also bound readability, and the run acts on
it). As a run's schedule depends on the step, never on the preset, a thorough run's trace also shows what
the shorter presets choose (the best snapshot up to their last step, then the final check among those).

    python benchmarks/trace_selection.py --sets skimage tissue --preset thorough --json-out trace.jsonl
    python benchmarks/trace_selection.py --summarise trace.jsonl   # what each preset picks, from the trace
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
import torch  # noqa: E402
from _measure import table  # noqa: E402

from stylefuse_desktop.training import style_trainer  # noqa: E402
from stylefuse_desktop.training.config import StyleTrainingConfig  # noqa: E402
from stylefuse_desktop.training.data import detail_photos, project_photos  # noqa: E402

SETS = {"procedural": lambda: bench_train.texture_style_set(6, side=384), "skimage": bench_train.texture_views,
        "tissue": bench_train.tissue_views, "retina": bench_train.retina_views, "space": bench_train.space_views,
        # bench_train's six other kinds, by the first word of their names (line, flat-colour, grayscale, ...)
        **{name.removeprefix("kind: ").split()[0]: make for name, make in bench_train.MORE_KINDS.items()}}


class Tracer:
    """Wraps ``_Validation``: each score also measures the snapshot on the held-out photos, on the final
    check's photos, the detail photos and scenes (and, asked, on landscapes never trained on), and
    records one row."""

    def __init__(self, set_name: str, held_out: list, json_out: str | None, landscapes: bool, seed: int = 0,
                 scenes_bound: float | None = None) -> None:
        self.set_name, self.seed = set_name, seed
        self.held_out, self.json_out, self.with_landscapes = held_out, json_out, landscapes
        self.score, self.init = style_trainer._Validation.score, style_trainer._Validation.__init__
        self.rows: list[list[str]] = []
        self.landscapes: style_trainer._Validation | None = None
        self.detail: style_trainer._Validation | None = None  # closeness on the detail photos (a diagnosis)
        self.final_check_photos = style_trainer.final_check_photos()
        self.detail_photos = detail_photos()
        self.scene_photos = style_trainer.held_out_scenes()
        self.scenes_bound = scenes_bound

    def install(self) -> None:
        tracer = self

        def init(validation, transformer, predictor, *args):
            tracer.init(validation, transformer, predictor, *args)
            tracer.transformer = transformer
            style_images, zero_shot_parameters, device = args[-3:]
            if tracer.with_landscapes and tracer.landscapes is None:
                landscapes = object.__new__(style_trainer._Validation)  # made with the unwrapped __init__
                tracer.init(landscapes, transformer, predictor, project_photos("trace", 6, (320, 224), 7001), [],
                            style_images, zero_shot_parameters, device)
                tracer.landscapes = landscapes
            if tracer.detail is None:
                detail = object.__new__(style_trainer._Validation)
                tracer.init(detail, transformer, predictor, detail_photos(), [], style_images, zero_shot_parameters,
                            device)
                tracer.detail = detail

        style_trainer._Validation.__init__ = init
        style_trainer._Validation.score = lambda validation, style: tracer.trace(validation, style)

    def rows_step(self) -> int:
        return len(self.rows) * style_trainer.VALIDATE_EVERY  # a run's last steps may be scored off the grid

    def uninstall(self) -> None:
        style_trainer._Validation.score, style_trainer._Validation.__init__ = self.score, self.init
        self.landscapes, self.detail, self.rows = None, None, []

    def trace(self, validation, style) -> style_trainer.Scored:
        scored = self.score(validation, style)
        scores = scored.ranked  # as the run ranks the snapshot: with its colour map, when it keeps one
        other = self.score(self.landscapes, style).ranked if self.landscapes is not None else None
        detail = self.score(self.detail, style).ranked if self.detail is not None else None
        tensors = {**{k: v.numpy() for k, v in style.tensors().items()}, **scored.colour}
        zero = {"embedding": style.embedding.detach().numpy()}
        held = style_trainer.evaluate(self.transformer, validation.predictor, tensors, zero, self.held_out,
                                      validation.style_images, validation.device)
        held_change = held["edge_ssim_trained"] - held["edge_ssim_zero_shot"]
        # what the run's final check would measure, were this snapshot a finalist
        final = style_trainer.evaluate(self.transformer, validation.predictor, tensors, zero, self.final_check_photos,
                                       validation.style_images, validation.device)
        # the same on the detail photos, with the snapshot's own colour map (as a final check would paint them)
        final_detail = style_trainer.evaluate(self.transformer, validation.predictor, tensors, zero,
                                              self.detail_photos, validation.style_images, validation.device)
        final_scenes = style_trainer.evaluate(self.transformer, validation.predictor, tensors, zero,
                                              self.scene_photos, validation.style_images, validation.device)
        if (self.scenes_bound is not None
                and final_scenes["edge_ssim_trained"] - final_scenes["edge_ssim_zero_shot"] < -self.scenes_bound):
            # an experiment, not the product's rule: the snapshot also counts as less readable when the
            # scenes (painted with its colour map) lose more than the bound; the run then acts on it
            scored.plain["readable"] = scored.ranked["readable"] = False
        self.rows.append([str(len(self.rows) + 1), f"{scores['closeness']:.2f}", f"{scores['edge_ssim_change']:+.3f}",
                          "yes" if scores["readable"] else "no", f"{scores['score']:.2f}",
                          f"{other['closeness']:.2f}" if other else "-",
                          f"{other['edge_ssim_change']:+.3f}" if other else "-",
                          f"{style_trainer.swd_ratio(held):.2f}", f"{held_change:+.3f}"])
        print("  ", self.rows[-1], flush=True)
        if self.json_out:
            with open(self.json_out, "a") as fh:
                fh.write(json.dumps({"set": self.set_name, "seed": self.seed, "step": self.rows_step(),
                                     "index": len(self.rows),
                                     "validation": scores,
                                     "validation_zero": validation.zero_shot, "landscapes": other, "detail": detail,
                                     "held_out": held, "final_check": final,
                                     "final_check_detail": final_detail,
                                     "final_check_scenes": final_scenes}) + "\n")
        return scored


# the final check's photos a summary may replay, by the trace's fields for them (several: the mean of
# their ratios, as if the check painted both sets)
CHECK_FIELDS = {"landscapes": ("final_check",), "detail": ("final_check_detail",), "scenes": ("final_check_scenes",),
                "landscapes+scenes": ("final_check", "final_check_scenes")}


def check_figure(record: dict, check_photos: str) -> float | None:
    """A snapshot's figure on the final check's photos, replayed from its trace record (None: not traced)."""
    fields = CHECK_FIELDS[check_photos]
    if not all(record.get(field) for field in fields):
        return None
    return sum(style_trainer.swd_ratio(record[field]) for field in fields) / len(fields)


def preset_summary(records: list[dict], check_photos: str = "landscapes",
                   validation_margin: float = style_trainer.CHECK_MARGIN) -> list[list[str]]:
    """What each preset gives, from one set's trace of a run at least that long: its chosen snapshot, as
    the run chooses it (the run's final check among its best-ranked snapshot up to its last step, the
    shorter presets' and the readable snapshots at the presets' last steps past the fast one, when the
    trace has the check's figures; else its best-ranked snapshot; when the gate turns that down, the
    longest shorter preset's result that passes it, as the product falls back) and the gate's figures.
    ``check_photos``: the photos the final check is replayed on (``CHECK_FIELDS``; the product's: landscapes);
    ``validation_margin``: the check's (``style_trainer.final_check``; inf: its rule before stop 35)."""
    from stylefuse_desktop.training.config import STYLE_PRESETS

    rows = []
    last = max(r["step"] for r in records)
    by_step = {r["step"]: r for r in records}
    figures = {r["step"]: check_figure(r, check_photos) for r in records}
    checked = None not in figures.values()
    finalists: dict[str, style_trainer.Finalist] = {}
    ends: dict[str, style_trainer.Finalist] = {}
    results: list[tuple[str, dict]] = []  # each shorter preset's own result (before any fallback of its own)
    for preset, steps in STYLE_PRESETS.items():
        if steps > last:
            continue
        best = min((r for r in records if r["step"] <= steps),
                   key=lambda r: style_trainer.snapshot_rank(r["validation"]))
        own = style_trainer.Finalist(best["step"], best["validation"], {})
        end = by_step.get(steps)
        if steps > STYLE_PRESETS["fast"] and end is not None and end["validation"]["readable"]:
            ends[style_trainer.end_label(preset)] = style_trainer.Finalist(steps, end["validation"], {})
        candidates = {**finalists, **ends, preset: own}
        chosen = by_step[candidates[style_trainer.final_check(candidates, lambda c: figures[c.step],
                                                              validation_margin)].step
                         if checked else best["step"]]
        finalists[preset] = own
        verdict, _ = style_trainer.gate(chosen["held_out"], preset)
        own_result, note = chosen, ""
        if verdict != "closer":  # the product's fallback: the longest shorter preset's result that passes
            for shorter, result in reversed(results):
                if result["step"] != chosen["step"] and style_trainer.gate(result["held_out"], shorter)[0] == "closer":
                    verdict, note, chosen = "closer", f" (fell back from step {chosen['step']}: {verdict})", result
                    break
        results.append((preset, own_result))
        m = chosen["held_out"]
        rows.append([records[0]["set"], preset, str(chosen["step"]),
                     f"{m['patch_swd_trained'] / m['patch_swd_zero_shot']:.2f}", f"{style_trainer.swd_ratio(m):.2f}",
                     f"{m['edge_ssim_zero_shot']:.3f} -> {m['edge_ssim_trained']:.3f}", verdict + note])
    return rows


def summarise(path: str, check_photos: str = "landscapes", validation_margin: float = style_trainer.CHECK_MARGIN
              ) -> None:
    by_set: dict[str, list[dict]] = {}
    with open(path) as fh:
        for line in fh:
            record = json.loads(line)
            by_set.setdefault(record["set"], []).append(record)
    rows = [row for records in by_set.values() for row in preset_summary(records, check_photos, validation_margin)]
    print(table(["set", "preset", "chosen step", "SWD ratio (full)", "SWD ratio (2 scales)",
                 "held-out edge SSIM", "gate"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["skimage", "tissue"], choices=list(SETS))
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out")
    parser.add_argument("--landscapes", action="store_true",
                        help="also score each snapshot on generated landscapes never trained on")
    parser.add_argument("--scenes-bound", type=float, metavar="EDGE_SSIM",
                        help="an experiment: a snapshot is also less readable when the scenes lose more than this")
    parser.add_argument("--summarise", metavar="JSONL", help="only summarise a trace written with --json-out")
    parser.add_argument("--check-photos", choices=list(CHECK_FIELDS), default="landscapes",
                        help="with --summarise: replay the final check on these photos (the product's: landscapes)")
    parser.add_argument("--validation-margin", type=float, default=style_trainer.CHECK_MARGIN,
                        help="with --summarise: how much worse validation may score a later candidate that ties on "
                             "the check (the product's: CHECK_MARGIN; inf: the rule before stop 35)")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise, args.check_photos, args.validation_margin)
        return
    held_out = bench_train.skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320))
    work = Path(tempfile.mkdtemp())
    for name in args.sets:
        tracer = Tracer(name, held_out, args.json_out, args.landscapes, args.seed, args.scenes_bound)
        tracer.install()
        folder = bench_train.save_all(work / name, SETS[name]())
        config = StyleTrainingConfig(name=f"trace {name}", styles=folder, preset=args.preset, steps=args.steps,
                                     seed=args.seed)
        with torch.inference_mode(False):
            result = style_trainer.train_style(config, held_out=held_out)
        rows = tracer.rows
        tracer.uninstall()
        m = result.metrics
        print(f"\n{name}, {args.preset}: chosen step {m['validation']['chosen_step']}, held-out SWD ratio "
              f"{style_trainer.swd_ratio(m):.2f}, edge SSIM {m['edge_ssim_zero_shot']:.3f} -> "
              f"{m['edge_ssim_trained']:.3f}, verdict {result.verdict}")
        print(table(["validation", "closeness", "edge SSIM change", "readable", "score",
                     "landscapes: closeness", "landscapes: SSIM change", "held-out: SWD ratio",
                     "held-out: SSIM change"], rows))


if __name__ == "__main__":
    main()
