"""The training dialog's answer to the quality gate (issue 10): when the trained style is not better,
the dialog offers what is: "Train longer" (the next preset, continuing the run) and "Keep the instant
style". Driven through the real dialog with a constructed worse result (no network runs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from images import save_float_rgb as save
from PySide6.QtCore import Qt

from stylefuse_desktop.document.style_file import StyleFile, read_style_file
from stylefuse_desktop.training.checkpoint import Checkpoints
from stylefuse_desktop.training.run import TrainResult, checkpoint_dir_for
from stylefuse_desktop.training.style_trainer import gate

TIMEOUT = 20_000

# a constructed worse result: further from the pictures than the instant style on held-out photos
WORSE = {"held_out_photos": 3, "patch_swd_trained": 0.052, "patch_swd_zero_shot": 0.040,
         "patch_swd_half_trained": 0.047, "patch_swd_half_zero_shot": 0.036, "statistics_gap_trained": 0.61,
         "statistics_gap_zero_shot": 0.44, "edge_ssim_trained": 0.31, "edge_ssim_zero_shot": 0.33}


class FakeTrainer:
    """Stands in for ``training.run.train``: returns the constructed worse result for the preset asked,
    and, as the real trainer does when the gate turns its style down, leaves the run's checkpoint."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.metrics = WORSE

    def __call__(self, config, progress, resume=False):
        self.calls.append((config.preset, resume))
        verdict, advice = gate(self.metrics, config.preset)
        embedding = np.random.default_rng(0).normal(0, 0.3, 100).astype(np.float32)
        trained = StyleFile(config.name, "embedding", {"embedding": embedding, "norm.0.gamma": embedding[:8]})
        instant = StyleFile(config.name, "embedding", {"embedding": embedding})
        Checkpoints(checkpoint_dir_for(config)).save({"style.embedding": torch.zeros(2)},
                                                     {"step": 10, "config": config.settings()})
        return TrainResult(trained, None, dict(self.metrics), 10, False, 0.1, [], instant, verdict, advice)


@pytest.fixture
def dialog(qtbot, tmp_path, monkeypatch):
    from stylefuse_desktop.training import run
    from stylefuse_desktop.ui.train_dialog import QtTrainDialog

    trainer = FakeTrainer()
    monkeypatch.setattr(run, "train", trainer)
    for i in range(2):
        save(tmp_path / "art", f"a{i}.png", np.random.default_rng(i).random((48, 48, 3)).astype(np.float32))
    dialog = QtTrainDialog()
    qtbot.addWidget(dialog)
    dialog.styles.edit.setText(str(tmp_path / "art"))
    dialog.styles.scan()
    dialog.name.setText("Worse")
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.trainer = trainer
    return dialog


def _finish(qtbot, dialog, click):
    with qtbot.waitSignal(dialog.style_ready, timeout=TIMEOUT):
        qtbot.mouseClick(click, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.job.running, timeout=TIMEOUT)


def test_a_worse_style_is_answered_with_train_longer_and_keep_the_instant_style(qtbot, dialog):
    from stylefuse_desktop.engine.adapters import PREFIX

    _finish(qtbot, dialog, dialog.start)
    assert "did not beat the instant style" in dialog.status.text()
    assert dialog.train_longer.isVisible() and dialog.keep_instant.isVisible()
    saved = read_style_file(dialog.result_path)
    assert "norm.0.gamma" not in saved.tensors and not any(k.startswith(PREFIX) for k in saved.tensors)

    # "Train longer": the next preset, continuing the run from its checkpoint
    _finish(qtbot, dialog, dialog.train_longer)
    assert dialog.trainer.calls == [("fast", False), ("balanced", True)]
    assert dialog.preset.currentData() == "balanced"
    assert dialog.train_longer.isVisible()  # thorough is still longer

    _finish(qtbot, dialog, dialog.train_longer)
    assert dialog.trainer.calls[-1] == ("thorough", True)
    assert not dialog.train_longer.isVisible() and dialog.keep_instant.isVisible()  # nothing longer to offer

    # "Keep the instant style": the offers go, the instant style stays, the run is forgotten
    config = dialog._config()
    assert Checkpoints(checkpoint_dir_for(config)).exists
    qtbot.mouseClick(dialog.keep_instant, Qt.MouseButton.LeftButton)
    assert not dialog.keep_instant.isVisible() and "Kept the instant style" in dialog.status.text()
    qtbot.waitUntil(lambda: not Checkpoints(checkpoint_dir_for(config)).exists, timeout=TIMEOUT)
    assert dialog.result_path.is_file()


def test_a_style_less_readable_on_the_gates_scenes_is_answered_and_the_dialog_says_where(qtbot, dialog):
    # closer to the pictures and readable on the held-out photos, but not on the generated scenes
    dialog.trainer.metrics = {**WORSE, "patch_swd_trained": 0.030, "patch_swd_half_trained": 0.028,
                              "statistics_gap_trained": 0.31, "edge_ssim_trained": 0.36, "held_out_scenes": 6,
                              "edge_ssim_scenes_trained": 0.27, "edge_ssim_scenes_zero_shot": 0.34}
    _finish(qtbot, dialog, dialog.start)
    shown = dialog.status.text()
    assert "harder to read than the instant style (edge SSIM on generated scenes 0.27 against 0.34)" in shown
    assert "edge SSIM 0.33 -> 0.36 (0.34 -> 0.27 on generated scenes)" in shown
    assert dialog.train_longer.isVisible() and dialog.keep_instant.isVisible()


def test_train_longer_starts_again_when_the_run_left_no_checkpoint(qtbot, dialog):
    _finish(qtbot, dialog, dialog.start)
    Checkpoints(checkpoint_dir_for(dialog._config())).clear()
    _finish(qtbot, dialog, dialog.train_longer)
    assert dialog.trainer.calls == [("fast", False), ("balanced", False)]
