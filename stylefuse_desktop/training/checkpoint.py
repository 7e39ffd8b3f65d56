"""Checkpoints: a run's tensors (safetensors) and its state (JSON), written atomically together, so a
killed run resumes where the last checkpoint left it. No pickles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..document.atomic import atomic_path
from ..document.user_files import JsonObject
from ..errors import BadInputError

FORMAT = "stylefuse.checkpoint"
VERSION = 1


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], JsonObject]:
    """An optimizer's state as named tensors plus a JSON description (instead of a pickled state dict)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    # a step size that is a tensor (an optimizer a CUDA graph replays) is saved as its number
    groups = [{k: float(v) if torch.is_tensor(v) else v for k, v in group.items()} for group in state["param_groups"]]
    meta: JsonObject = {"param_groups": groups, "state": {}}
    for index, values in state["state"].items():
        meta["state"][str(index)] = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous()
                meta["state"][str(index)][key] = "tensor"
            else:
                meta["state"][str(index)][key] = value
    return tensors, meta


def load_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                   meta: JsonObject) -> None:
    state: dict[int, dict[str, object]] = {}
    for index, values in meta["state"].items():
        state[int(index)] = {k: (tensors[f"{prefix}.{index}.{k}"] if v == "tensor" else v) for k, v in values.items()}
    # how this optimizer runs is this device's, not the saving one's (fused on CUDA, captured in a graph):
    # a checkpoint moves between a GPU and a CPU
    how = ("fused", "capturable", "foreach")
    groups = [{**saved, **{k: live[k] for k in how if k in live}}
              for saved, live in zip(meta["param_groups"], optimizer.param_groups)]
    step_sizes = [group["lr"] for group in optimizer.param_groups]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    for group, step_size in zip(optimizer.param_groups, step_sizes):
        if isinstance(step_size, torch.Tensor):  # the tensor a captured step reads stays that tensor
            step_size.fill_(float(group["lr"]))
            group["lr"] = step_size


def rng_state(numpy_rng: np.random.Generator) -> tuple[dict[str, torch.Tensor], JsonObject]:
    return {"rng.torch": torch.get_rng_state()}, {"numpy_rng": numpy_rng.bit_generator.state}


def restore_rng(numpy_rng: np.random.Generator, tensors: dict[str, torch.Tensor], meta: JsonObject) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    numpy_rng.bit_generator.state = meta["numpy_rng"]


class Checkpoints:
    """``folder`` holds two slots; a checkpoint is written whole into the one not in use, then a small
    pointer file, replaced atomically, names it. A crash at any moment leaves a complete checkpoint."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _current(self) -> Path | None:
        pointer = self.folder / "current"
        if not pointer.is_file():
            return None
        slot = self.folder / pointer.read_text().strip()
        return slot if slot.name in ("a", "b") else None

    @property
    def exists(self) -> bool:
        slot = self._current()
        return slot is not None and (slot / "state.json").is_file()

    def save(self, tensors: dict[str, torch.Tensor], state: JsonObject) -> None:
        try:
            self._save(tensors, state)
        except OSError as exc:
            raise BadInputError(f"{self.folder}: the training checkpoint cannot be written "
                                f"({exc.strerror or exc}); free some disk space and resume") from None

    def _save(self, tensors: dict[str, torch.Tensor], state: JsonObject) -> None:
        current = self._current()
        slot = self.folder / ("b" if current is not None and current.name == "a" else "a")
        slot.mkdir(parents=True, exist_ok=True)
        state = {"format": FORMAT, "version": VERSION, **state}
        with atomic_path(slot / "tensors.safetensors") as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
        with atomic_path(slot / "state.json") as tmp:
            tmp.write_text(json.dumps(state))
        with atomic_path(self.folder / "current") as tmp:
            tmp.write_text(slot.name)

    def load(self) -> tuple[dict[str, torch.Tensor], JsonObject]:
        slot = self._current()
        if slot is None:
            raise BadInputError(f"{self.folder}: there is no checkpoint to resume")
        try:
            state = json.loads((slot / "state.json").read_text())
            tensors = load_file(str(slot / "tensors.safetensors"))
        except Exception as exc:  # noqa: BLE001  (safetensors raises its own error type for damaged files)
            raise BadInputError(f"{self.folder}: the checkpoint is damaged ({type(exc).__name__}); start again "
                                "without --resume") from None
        if not isinstance(state, dict):
            raise BadInputError(f"{self.folder}: the checkpoint is damaged; start again without --resume")
        if state.get("format") != FORMAT or state.get("version", 0) > VERSION:
            raise BadInputError(f"{self.folder}: not a checkpoint this StyleFuse can resume")
        return tensors, state

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# settings a resumed run may change: its length (a longer preset continues the run: "train longer")
LENGTH_SETTINGS = ("preset", "steps")


def _same_run(saved: object, settings: JsonObject) -> bool:
    if not isinstance(saved, dict):
        return False
    return ({k: v for k, v in saved.items() if k not in LENGTH_SETTINGS}
            == {k: v for k, v in settings.items() if k not in LENGTH_SETTINGS})


def resume_run(checkpoints: Checkpoints, name: str, settings: JsonObject,
               optimizers: dict[str, torch.optim.Optimizer],
               numpy_rng: np.random.Generator) -> tuple[dict[str, torch.Tensor], int, JsonObject]:
    """Load the last checkpoint of the run ``name``: optimizers and random streams restored in place.
    Returns its tensors (for the caller's models, by prefix), the step it had reached and its state.
    Only the run's length may differ from the checkpoint's settings (a longer preset continues it)."""
    if not checkpoints.exists:
        raise BadInputError(f"there is no interrupted run of '{name}' to resume")
    tensors, state = checkpoints.load()
    if not _same_run(state.get("config"), settings):
        raise BadInputError("the interrupted run used other settings; resume it with the same ones")
    try:
        for prefix, optimizer in optimizers.items():
            load_optimizer(prefix, optimizer, tensors, state[prefix])
        restore_rng(numpy_rng, tensors, state)
        step = int(state["step"])
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise BadInputError(f"{checkpoints.folder}: the checkpoint is damaged ({type(exc).__name__}); start again "
                            "without --resume") from None
    return tensors, step, state


def with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors saved under ``prefix`` (e.g. "d."), with the prefix taken off."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
