"""Training settings: typed, validated, with presets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from ..document.user_files import JsonObject
from ..errors import BadInputError

if TYPE_CHECKING:
    import numpy as np

# Presets, defined here once for the CLI and the dialog: steps, measured to fit the time targets on a
# 2-core laptop CPU at 256 px (benchmarks/bench_train.py)
STYLE_PRESETS = {"fast": 160, "balanced": 400, "thorough": 900}
PAIRS_PRESETS = {"fast": 500, "balanced": 1200, "thorough": 3000}
PRESETS = ("fast", "balanced", "thorough")


def next_preset(preset: str) -> str | None:
    """The preset that trains longer than ``preset`` (None after the longest)."""
    return PRESETS[PRESETS.index(preset) + 1] if preset in PRESETS[:-1] else None


def preset_reaching(step: int, presets: dict[str, int] = STYLE_PRESETS) -> str | None:
    """The shortest preset whose run reaches ``step`` (None past the longest). A run's schedule depends
    on the step, never on the preset, so a snapshot of that step is one this shorter preset also makes."""
    return next((name for name in PRESETS if presets[name] >= step), None)


def shorter_preset_note(validation: JsonObject) -> str:
    """One line when a run's chosen snapshot is one a shorter preset also gives (see ``preset_reaching``):
    training longer did not improve on it, and the user should know, not wait for it next time."""
    same = validation.get("same_as_preset")
    if not same:
        return ""
    return (f"Training longer than the '{same}' preset did not improve on it: the kept snapshot is from step "
            f"{validation['chosen_step']}, which the '{same}' preset also reaches.")


def colour_map_note(validation: JsonObject) -> str:
    """One line when the result carries a colour map (``style_trainer._Validation.with_colour_map``): what it
    is and why."""
    note = validation.get("colour_map")
    if not isinstance(note, dict) or not note.get("strength"):
        return ""
    how = "fully" if note["strength"] >= 1.0 else f"{note['strength']:.0%} of the way"
    return (f"Its colours are mapped {how} to your pictures' palette: the validation photos scored it closer so "
            f"({validation.get('closeness', 0):.2f} of the instant style's distance, "
            f"{note.get('closeness_without', 0):.2f} without the map).")


def against_shorter_preset_note(validation: JsonObject) -> str:
    """One line when a longer preset kept a later snapshot than the shorter preset would have: whether it
    is closer to the pictures than that preset's result on the held-out photos. Validation chose it, and
    can be wrong by a few hundredths; the user should know when training longer did not pay off."""
    against = validation.get("shorter_preset")
    if not isinstance(against, dict):
        return ""
    figures = (f"patch SWD {against['swd_ratio_kept']:.2f} against {against['swd_ratio']:.2f} of the instant "
               "style's")
    if against.get("closer"):
        return (f"On the held-out photos it is closer to your pictures than the '{against['preset']}' preset's "
                f"result ({figures}).")
    return (f"On the held-out photos it is no closer to your pictures than the '{against['preset']}' preset's "
            f"result ({figures}): training longer did not pay off on this set.")


def gate_fallback_note(validation: JsonObject) -> str:
    """One line when the gate turned down the run's own result and kept a shorter preset's result of the
    same run, which passes it: what was turned down, why, and what is kept."""
    fallback = validation.get("gate_fallback")
    if not isinstance(fallback, dict):
        return ""
    down = fallback["turned_down"]
    why = (f"made photos harder to read than the instant style (edge SSIM on "
           f"{down.get('edge_ssim_photos', 'held-out photos')} {down['edge_ssim_trained']:.2f} against "
           f"{down['edge_ssim_zero_shot']:.2f})" if down["verdict"] == "less_readable" else
           f"was no closer to your pictures than the instant style (patch SWD {down['swd_ratio']:.2f}x the "
           "instant style's)")
    return (f"On held-out photos the '{down['preset']}' result (step {down['chosen_step']}) {why}, so this run's "
            f"'{fallback['preset']}' result, which passes, is kept (step {fallback['chosen_step']}, patch SWD "
            f"{fallback['swd_ratio']:.2f}x the instant style's).")


def final_check_note(validation: JsonObject) -> str:
    """One line when the run's final check (``style_trainer.final_check``) kept another snapshot than the
    run's own best: a shorter preset's, or the one at a preset's last step; the figures on its photos."""
    check = validation.get("final_check")
    if not isinstance(check, dict) or check.get("kept") == check.get("own"):
        return ""
    label = check["kept"]
    kept, own = check["candidates"][label], check["candidates"][check["own"]]
    what = (f"the '{label}' preset's snapshot" if label in PRESETS
            else f"the snapshot at the {label} (step {kept['step']})")
    how = ("closer to your pictures than this run's own best" if kept["swd_ratio"] < own["swd_ratio"] else
           "as close to your pictures as this run's own best, within the check's resolution, and trained longer")
    return (f"A final check on {check['photos']} more photos found {what} {how} (patch SWD {kept['swd_ratio']:.2f} "
            f"against {own['swd_ratio']:.2f} of the instant style's): it is the result.")


def kept_snapshot_notes(validation: JsonObject) -> list[str]:
    """What the CLI summary and the training dialog add about the kept snapshot, one line each."""
    if validation.get("gate_fallback"):  # the final check's pick was turned down: what is kept instead
        notes: tuple[str, ...] = (gate_fallback_note(validation),)
    else:
        notes = (final_check_note(validation), shorter_preset_note(validation),
                 against_shorter_preset_note(validation))
    notes += (colour_map_note(validation),)
    return [note for note in notes if note]


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInputError("give the style a name")
    if len(name) > 80 or any(c in name for c in '/\\:*?"<>|'):
        raise BadInputError(f"'{name}' cannot be a style name: keep it short, without / \\ : * ? \" < > |")
    return name


@dataclass(frozen=True)
class TrainingConfig:
    name: str
    preset: str = "fast"
    steps: int | None = None
    seed: int = 0
    size: int = 256
    device: str = "auto"
    checkpoint_every: int = 25
    output: Path | None = None  # default: the user styles folder
    preview_photo: np.ndarray | None = field(default=None, compare=False)  # float32 [H, W, 3]: previews paint this

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _check_name(self.name))
        if self.preset not in PRESETS:
            raise BadInputError(f"unknown preset '{self.preset}'; choose one of {', '.join(PRESETS)}")
        if self.steps is not None and not 1 <= self.steps <= 100_000:
            raise BadInputError(f"steps must be between 1 and 100000, got {self.steps}")
        if not 64 <= self.size <= 1024:
            raise BadInputError(f"training size must be between 64 and 1024 pixels, got {self.size}")
        if self.checkpoint_every < 1:
            raise BadInputError("checkpoints need a positive interval")

    def settings(self) -> JsonObject:
        """JSON-friendly, for the style file's manifest (and to check a resumed run is the same run)."""
        skip = {"preview_photo", "extra_content"}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


@dataclass(frozen=True)
class StyleTrainingConfig(TrainingConfig):
    """Mode 1: a style from a folder of pictures (unpaired, adversarial)."""

    styles: Path = Path()
    content: Path | None = None  # with extra_content, the photos painted while training; neither: generated ones
    extra_content: tuple[np.ndarray, ...] = field(default=(), compare=False)  # float32 arrays from the editor

    @property
    def total_steps(self) -> int:
        return self.steps or STYLE_PRESETS[self.preset]

    @property
    def shorter_preset(self) -> str | None:
        """The longest preset that ends before this run does: the result it would have kept is compared with
        this run's on the held-out photos (None for runs of a set number of steps, and for the fast preset)."""
        if self.steps is not None:
            return None
        shorter = [name for name, steps in STYLE_PRESETS.items() if steps < self.total_steps]
        return shorter[-1] if shorter else None


@dataclass(frozen=True)
class PairsTrainingConfig(TrainingConfig):
    """Mode 2: a look from before/after pairs (paired, conditional GAN)."""

    before: Path = Path()
    after: Path = Path()

    @property
    def total_steps(self) -> int:
        return self.steps or PAIRS_PRESETS[self.preset]
