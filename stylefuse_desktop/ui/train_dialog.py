""""Train on my images…": teach StyleFuse a style from a folder of pictures, or a look from before/after
pairs. Shows what the folders hold (and what is skipped), live loss curves, an ETA and a preview of the
style on the user's open photo; Pause, Resume and Cancel. Training runs in a worker; the editor stays
usable. The result lands in My styles."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..document.image_io import is_image_path
from ..document.user_files import JsonObject
from ..training.config import PAIRS_PRESETS, PRESETS, STYLE_PRESETS, kept_snapshot_notes, next_preset
from .canvas import rgba_to_qimage
from .workers import Job, JobProgress, JobRunner, ResultHandler

if TYPE_CHECKING:  # for annotations only
    from ..progress import Progress
    from ..training.config import PairsTrainingConfig, StyleTrainingConfig
    from ..training.events import TrainingEvent

    StyleOrPairsConfig = StyleTrainingConfig | PairsTrainingConfig

# what a finished training job hands back: the style file, its metrics, whether it was stopped early,
# and the quality gate's advice ("" when the trained style is the result)
TrainedStyle = tuple[Path | None, JsonObject, bool, str]

STRIP = 8  # thumbnails shown per folder
PRESET_STEPS = {"style": STYLE_PRESETS, "pairs": PAIRS_PRESETS}  # defined once, in training.config (no torch)
CURVE_COLOURS = ["#e0603a", "#3a7be0", "#3aae5c", "#a05ad0"]


class TrainingProgress(JobProgress):
    """The trainer's progress object: also pausable, and its events reach the dialog by signal."""

    observed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._pause = threading.Event()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def set_paused(self, on: bool) -> None:
        (self._pause.set if on else self._pause.clear)()

    def observe(self, event: TrainingEvent) -> None:
        try:
            self.observed.emit(event)
        except RuntimeError:  # "Signal source has been deleted": the dialog closed mid-run, so stop quietly
            self.cancel()


class QtLossChart(QWidget):
    """Loss curves: one line per loss, each scaled to its own range (their sizes differ a lot)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(320, 140)
        self.series: dict[str, list[float]] = {}

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def add(self, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self.series.setdefault(name, []).append(float(value))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        metrics = p.fontMetrics()
        left, top = metrics.horizontalAdvance("high") + 8, 6
        bottom = self.height() - 2 * metrics.height() - 8  # room for the step labels and the legend
        w, h = max(1, self.width() - left - 8), max(1, bottom - top)
        # axes: each curve is scaled to its own range, so the y axis reads low..high, the x axis steps
        text = self.palette().text().color()
        p.setPen(QPen(text, 1))
        p.drawLine(QPointF(left, top), QPointF(left, bottom))
        p.drawLine(QPointF(left, bottom), QPointF(left + w, bottom))
        p.drawText(2, top + metrics.ascent(), "high")
        p.drawText(2, bottom, "low")
        steps = max((len(v) for v in self.series.values()), default=0)
        label_y = bottom + metrics.height()
        p.drawText(int(left), int(label_y), "0")
        last = f"{steps} steps"
        p.drawText(int(left + w - metrics.horizontalAdvance(last)), int(label_y), last)
        legend_x = left
        for i, (name, values) in enumerate(self.series.items()):
            colour = QColor(CURVE_COLOURS[i % len(CURVE_COLOURS)])
            p.setPen(QPen(colour, 1.6))
            if len(values) > 1:
                smooth = np.convolve(values, np.ones(5) / 5, mode="valid") if len(values) > 10 else np.array(values)
                lo, hi = float(np.min(smooth)), float(np.max(smooth))
                span = hi - lo or 1.0
                points = [QPointF(left + w * k / (len(smooth) - 1), top + h * (1 - (v - lo) / span))
                          for k, v in enumerate(smooth)]
                for a, b in zip(points, points[1:]):
                    p.drawLine(a, b)
            label = f"{name} {values[-1]:.3f}" if values else name
            p.drawText(int(legend_x), self.height() - 6, label)
            legend_x += metrics.horizontalAdvance(label) + 14  # labels of any length never overlap


THUMB_SIDE = 48


def _thumbnail(path: Path, side: int = THUMB_SIDE) -> QPixmap | None:
    from ..document.user_files import open_image  # the gate: no PostScript, no bombs in a folder scan
    from ..errors import BadInputError

    try:
        with open_image(path) as im:
            im.draft("RGB", (side, side))
            im.thumbnail((side, side))
            rgba = np.asarray(im.convert("RGBA"), np.float32) / 255
        return QPixmap.fromImage(rgba_to_qimage(rgba))
    except (BadInputError, OSError, ValueError, MemoryError):
        return None


class QtFolderField(QWidget):
    """A folder chooser that shows how many pictures it holds, a strip of them, and what is skipped."""

    changed = Signal()

    def __init__(self, title: str, note: str = "") -> None:
        super().__init__()
        self.title = title
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.edit = QLineEdit(placeholderText=f"Choose the {title} folder" + (f" ({note})" if note else ""))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.summary = QLabel(" ")
        self.summary.setFixedHeight(self.summary.sizeHint().height())  # one line, whatever it says
        strip_box = QWidget()
        strip_box.setFixedHeight(THUMB_SIDE + 4)  # the strip's room is kept when empty: nothing jumps
        self.strip = QHBoxLayout(strip_box)
        self.strip.setContentsMargins(0, 0, 0, 0)
        self.strip.setSpacing(2)
        layout.addWidget(self.summary)
        layout.addWidget(strip_box)
        self.edit.editingFinished.connect(self.scan)
        self.count = 0

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Choose the {self.title} folder", self.edit.text())
        if folder:
            self.edit.setText(folder)
            self.scan()

    def path(self) -> Path | None:
        return Path(self.edit.text()).expanduser() if self.edit.text().strip() else None

    def scan(self) -> None:
        while self.strip.count():
            item = self.strip.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        folder = self.path()
        self.count = 0
        if folder is None or not folder.is_dir():
            self.summary.setText("<i>no such folder</i>" if folder else " ")
            self.changed.emit()
            return
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        pictures = [p for p in files if is_image_path(p)]
        unreadable: list[str] = []
        for path in pictures[:STRIP]:
            pixmap = _thumbnail(path)
            if pixmap is None:
                unreadable.append(path.name)
                continue
            label = QLabel()
            label.setPixmap(pixmap)
            label.setToolTip(path.name)
            self.strip.addWidget(label)
        self.strip.addStretch(1)
        self.count = len(pictures) - len(unreadable)
        skipped = [p.name for p in files if not is_image_path(p)] + unreadable
        text = f"{self.count} picture{'s' if self.count != 1 else ''} found"
        if skipped:
            text += f"; skipped: {', '.join(skipped[:4])}{' …' if len(skipped) > 4 else ''}"
        self.summary.setText(text)
        self.changed.emit()


class QtTrainDialog(QDialog):
    style_ready = Signal(Path)  # the new .sfstyle (``result_name`` is the style's name)
    apply_requested = Signal(Path)
    training_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, preview_photo: np.ndarray | None = None,
                 extra_content: tuple[np.ndarray, ...] = (), run_job: JobRunner | None = None) -> None:
        super().__init__(parent)
        # the window's job runner: training joins its job list, so Cancel and closing the window stop it
        self.run_job = run_job
        self.result_name = ""
        self._has_checkpoint = False
        self._checkpoint_timer = QTimer(self, singleShot=True, interval=250)
        self._checkpoint_timer.timeout.connect(self._check_checkpoint)
        self.setWindowTitle("Train on my images")
        self.setModal(False)
        self.resize(760, 640)
        self.preview_photo = preview_photo
        self.extra_content = extra_content
        self.job: Job | None = None
        self.result_path: Path | None = None

        layout = QVBoxLayout(self)
        modes = QHBoxLayout()
        self.style_mode = QRadioButton("A style from a folder of my pictures")
        self.pairs_mode = QRadioButton("A look from before/after pairs")
        self.style_mode.setChecked(True)
        group = QButtonGroup(self)
        for button in (self.style_mode, self.pairs_mode):
            group.addButton(button)
            modes.addWidget(button)
            button.toggled.connect(self._mode_changed)
        layout.addLayout(modes)

        self.folders = QGroupBox("Pictures")
        form = QFormLayout(self.folders)
        self.styles = QtFolderField("style pictures")
        self.content = QtFolderField("photos to paint", "optional")
        self.before = QtFolderField("'before'")
        self.after = QtFolderField("'after'", "same file names as 'before'")
        self.style_label, self.content_label = QLabel("Style pictures"), QLabel("Photos (optional)")
        self.before_label, self.after_label = QLabel("Before"), QLabel("After")
        form.addRow(self.style_label, self.styles)
        form.addRow(self.content_label, self.content)
        form.addRow(self.before_label, self.before)
        form.addRow(self.after_label, self.after)
        layout.addWidget(self.folders)

        settings = QHBoxLayout()
        self.name = QLineEdit(placeholderText="Name of the new style")
        self.preset = QComboBox()
        for preset in PRESETS:
            self.preset.addItem(preset.capitalize(), preset)
        self.steps = QSpinBox(minimum=1, maximum=100_000, suffix=" steps")
        self.preset.currentIndexChanged.connect(self._preset_changed)
        settings.addWidget(QLabel("Name"))
        settings.addWidget(self.name, 1)
        settings.addWidget(QLabel("Preset"))
        settings.addWidget(self.preset)
        settings.addWidget(self.steps)
        layout.addLayout(settings)

        progress_box = QGroupBox("Training")
        grid = QGridLayout(progress_box)
        self.chart = QtLossChart()
        self.preview = QLabel("The style on your photo appears here")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(240, 180)
        self.bar = QProgressBar(maximum=1000, textVisible=False)
        self.status = QLabel("Choose the pictures, a name and a preset, then Start.")
        self.status.setWordWrap(True)
        grid.addWidget(self.chart, 0, 0)
        grid.addWidget(self.preview, 0, 1)
        grid.addWidget(self.bar, 1, 0, 1, 2)
        grid.addWidget(self.status, 2, 0, 1, 2)
        layout.addWidget(progress_box, 1)

        buttons = QHBoxLayout()
        self.start = QPushButton("Start")
        self.resume = QPushButton("Resume interrupted run")
        self.pause = QPushButton("Pause")
        self.cancel = QPushButton("Cancel")
        self.apply = QPushButton("Apply to my photo")
        self.discard = QPushButton("Discard it")
        # the quality gate's offers, when the trained style was not better than the instant one
        self.train_longer = QPushButton("Train longer")
        self.keep_instant = QPushButton("Keep the instant style")
        self.close_button = QPushButton("Close")
        for push in (self.start, self.resume, self.pause, self.cancel, self.train_longer, self.keep_instant,
                     self.apply, self.discard, self.close_button):
            buttons.addWidget(push)
        layout.addLayout(buttons)
        self.start.clicked.connect(lambda: self.begin(resume=False))
        self.resume.clicked.connect(lambda: self.begin(resume=True))
        self.pause.clicked.connect(self._toggle_pause)
        self.cancel.clicked.connect(self.stop)
        self.apply.clicked.connect(lambda: self.result_path and self.apply_requested.emit(self.result_path))
        self.discard.clicked.connect(self._discard)
        self.train_longer.clicked.connect(self._train_longer)
        self.keep_instant.clicked.connect(self._keep_instant)
        self.offers = False  # the last run ended with the gate's offers (train longer / keep the instant style)
        self.close_button.clicked.connect(self.close)
        self.stopped_early = False
        self.name.textChanged.connect(self._form_changed)
        for field in (self.styles, self.before, self.after):
            field.changed.connect(self._form_changed)
        self._mode_changed()
        self._preset_changed()

    # -- state -------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return "style" if self.style_mode.isChecked() else "pairs"

    def _mode_changed(self) -> None:
        style = self.mode == "style"
        for widget in (self.styles, self.content, self.style_label, self.content_label):
            widget.setVisible(style)
        for widget in (self.before, self.after, self.before_label, self.after_label):
            widget.setVisible(not style)
        self._preset_changed()

    def _preset_changed(self) -> None:
        self.steps.setValue(PRESET_STEPS[self.mode][self.preset.currentData()])
        self._update_buttons()

    def _config(self) -> StyleOrPairsConfig:
        from ..training.config import PairsTrainingConfig, StyleTrainingConfig

        preset = self.preset.currentData()
        steps = self.steps.value() if self.steps.value() != PRESET_STEPS[self.mode][preset] else None
        common = dict(name=self.name.text(), preset=preset, steps=steps, preview_photo=self.preview_photo)
        if self.mode == "style":
            return StyleTrainingConfig(**common, styles=self.styles.path() or Path(), content=self.content.path(),
                                       extra_content=self.extra_content)
        return PairsTrainingConfig(**common, before=self.before.path() or Path(), after=self.after.path() or Path())

    def _form_changed(self) -> None:
        """A keystroke or a folder: update the buttons now, look for a resumable run a moment later in a
        worker (the check imports the trainers, and so torch: never on the UI thread)."""
        self._has_checkpoint = False
        self._update_buttons()
        self._checkpoint_timer.start()

    def _check_checkpoint(self) -> None:
        from ..errors import StyleFuseError

        try:
            config = self._config()
        except StyleFuseError:
            return  # an unfinished form has no checkpoint

        def found(exists: bool) -> None:
            if not shiboken6.isValid(self):  # the answer came after the dialog was deleted
                return
            self._has_checkpoint = bool(exists)
            self._update_buttons()

        self._run(Job("Looking for an interrupted run", _checkpoint_exists, config), "train-checkpoint", found,
                  quiet=True)

    def _run(self, job: Job, key: str, on_success: ResultHandler, quiet: bool = False) -> Job:
        if self.run_job is not None:
            return self.run_job(job, key, on_success, quiet=quiet)
        job.succeeded.connect(on_success)
        return job.start()

    def _update_buttons(self) -> None:
        running = self.job is not None and self.job.running
        ready = bool(self.name.text().strip()) and (
            self.styles.count > 0 if self.mode == "style" else self.before.count > 0 and self.after.count > 0)
        self.start.setEnabled(ready and not running)
        self.resume.setVisible(not running and ready and self._has_checkpoint and not self.offers)
        self.pause.setEnabled(running)
        self.cancel.setEnabled(running)
        self.apply.setVisible(self.result_path is not None and not running)
        self.discard.setVisible(self.result_path is not None and not running and self.stopped_early)
        offers = self.offers and not running and self.result_path is not None
        self.train_longer.setVisible(offers and next_preset(self.preset.currentData()) is not None)
        self.keep_instant.setVisible(offers)
        for widget in (self.folders, self.name, self.preset, self.steps, self.style_mode, self.pairs_mode):
            widget.setEnabled(not running)

    # -- running -----------------------------------------------------------------------------------
    def begin(self, resume: bool | str = False) -> Job | None:
        """Start training; ``resume``: continue the interrupted run, or CONTINUE_IF_ANY (train longer:
        continue the last run where it stopped when its checkpoint is there, else start again)."""
        from ..errors import StyleFuseError

        try:
            config = self._config()
        except StyleFuseError as exc:
            self.status.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return None
        progress = TrainingProgress()
        progress.observed.connect(self._event)
        self.chart.clear()
        self.bar.setValue(0)
        self.result_path = None
        self.offers = False
        self.result_name = config.name
        self.job = Job(f"Training {config.name}", _train, config, resume, progress=progress)
        self.job.progressed.connect(lambda f, m: self.bar.setValue(int(f * 1000)))
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(lambda: self._stopped("Cancelled. Resume picks up from the last checkpoint."))
        self.job.finished.connect(self._update_buttons)
        self.job.finished.connect(self._checkpoint_timer.start)  # a stopped run may be resumable now
        self.job.finished.connect(lambda: self.training_changed.emit(False))
        self._run(self.job, "training", self._finished, quiet=True)  # the dialog shows its own progress
        self.status.setText("Reading the pictures…")
        self.training_changed.emit(True)
        self._update_buttons()
        return self.job

    def _event(self, event: TrainingEvent) -> None:
        self.chart.add(event.losses)
        minutes, seconds = divmod(int(event.eta_seconds), 60)
        self.status.setText(f"Step {event.step} of {event.total} · about {minutes}:{seconds:02d} left")
        if event.preview is not None:
            rgba = np.dstack([event.preview, np.ones(event.preview.shape[:2], np.float32)])
            pixmap = QPixmap.fromImage(rgba_to_qimage(rgba))
            self.preview.setPixmap(pixmap.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    @property
    def job_progress(self) -> TrainingProgress | None:
        """The training job's progress (pausable), when a training job is the dialog's job."""
        progress = self.job.progress if self.job is not None else None
        return progress if isinstance(progress, TrainingProgress) else None

    def _toggle_pause(self) -> None:
        progress = self.job_progress
        if progress is None:
            return
        progress.set_paused(not progress.paused)
        self.pause.setText("Continue" if progress.paused else "Pause")
        if progress.paused:
            self.status.setText("Paused. Continue when you like; the editor is free meanwhile.")

    def stop(self) -> None:
        if self.job is not None and self.job.running:
            if self.job_progress is not None:
                self.job_progress.set_paused(False)
            self.job.cancel()
            self.pause.setText("Pause")

    def _finished(self, result: TrainedStyle | None) -> None:
        if result is None:
            self._stopped("Stopped before the first step; nothing to keep.")
            return
        path, metrics, cancelled, advice = result
        self.result_path = path
        self.stopped_early = cancelled
        if not cancelled:
            self.bar.setValue(self.bar.maximum())  # the last steps report less than 100%: done is done
        note = " (stopped early: keep it, discard it, or resume to train further)" if cancelled else ""
        self.offers = bool(advice) and not cancelled
        if advice:  # the quality gate: the trained style was not better, the instant one was saved
            self.status.setText(f"<b>{advice}</b> {_describe(metrics)}")
        else:
            self.status.setText(f"Saved '{self.result_name}' to My styles{note}. {_describe(metrics)}")
        self.style_ready.emit(path)

    def _train_longer(self) -> None:
        """The gate's first offer: the next preset, continuing the run that just ended."""
        longer = next_preset(self.preset.currentData())
        if longer is None:
            return
        self.preset.setCurrentIndex(self.preset.findData(longer))
        self.begin(resume=CONTINUE_IF_ANY)

    def _keep_instant(self) -> None:
        """The gate's other offer: the instant style (already saved in the trained one's place) stays;
        the run that could have been continued is forgotten."""
        from ..errors import StyleFuseError

        self.offers = False
        self.status.setText(f"Kept the instant style as '{self.result_name}' in My styles.")
        self._update_buttons()
        try:
            config = self._config()
        except StyleFuseError:
            return
        self._run(Job("Forgetting the training run", _forget_run, config), "train-forget",
                  lambda _: self._form_changed(), quiet=True)

    def _discard(self) -> None:
        if self.result_path is not None:
            self.result_path.unlink(missing_ok=True)
            self.style_ready.emit(self.result_path)  # the picker forgets it
            self.status.setText(f"Discarded '{self.result_name}'.")
            self.result_path = None
        self._update_buttons()

    def _stopped(self, text: str) -> None:
        self.status.setText(text)
        self._update_buttons()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"<span style='color:#c0392b'>{exc}</span>")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.stop()
        super().closeEvent(event)


def _describe(metrics: JsonObject) -> str:
    if "patch_swd_trained" in metrics:
        gain = 1 - metrics["patch_swd_trained"] / max(metrics["patch_swd_zero_shot"], 1e-9)
        closer = "closer to" if gain > 0 else "further from"
        return (f"On held-out photos: {closer} your pictures than the instant style by "
                f"{abs(gain) * 100:.0f}% (patch distance {metrics['patch_swd_zero_shot']:.4f} -> "
                f"{metrics['patch_swd_trained']:.4f}; feature statistics {metrics['statistics_gap_zero_shot']:.3f} "
                f"-> {metrics['statistics_gap_trained']:.3f}); edge SSIM {metrics['edge_ssim_zero_shot']:.2f} -> "
                f"{metrics['edge_ssim_trained']:.2f}" + _on_scenes(metrics) + "." + _chosen(metrics))
    held = metrics.get("held_out") or metrics.get("train") or {}
    if "gain_db" in held:
        return f"The look reproduces the edits {held['gain_db']:+.1f} dB better than the untouched photos."
    return ""


def _on_scenes(metrics: JsonObject) -> str:
    if "edge_ssim_scenes_trained" not in metrics:  # a style trained before the gate judged scenes
        return ""
    return (f" ({metrics['edge_ssim_scenes_zero_shot']:.2f} -> {metrics['edge_ssim_scenes_trained']:.2f} on "
            "generated scenes)")


def _chosen(metrics: JsonObject) -> str:
    validation = metrics.get("validation") or {}
    if "chosen_step" not in validation:
        return ""
    check = validation.get("final_check") or {}
    # another candidate than the run's own best (the final check's, or the gate's fallback): a note says why
    if check.get("kept", "") != check.get("own", "") or validation.get("gate_fallback"):
        kept = f" Kept the snapshot of step {validation['chosen_step']}."
    else:
        kept = (f" Kept the snapshot of step {validation['chosen_step']}: the best balance of closeness to your "
                "pictures and readability among those that kept the photo readable.")
    return " ".join([kept, *kept_snapshot_notes(validation)])


def _checkpoint_exists(config: StyleOrPairsConfig, progress: Progress) -> bool:
    """Worker: is there an interrupted run of this configuration to resume?"""
    from ..training.checkpoint import Checkpoints
    from ..training.run import checkpoint_dir_for

    return Checkpoints(checkpoint_dir_for(config)).exists


CONTINUE_IF_ANY = "continue if any"  # begin(): continue the last run when its checkpoint is there


def _forget_run(config: StyleOrPairsConfig, progress: Progress) -> None:
    """Worker: remove the checkpoint of a run that will not be continued."""
    from ..training.checkpoint import Checkpoints
    from ..training.run import checkpoint_dir_for

    Checkpoints(checkpoint_dir_for(config)).clear()


def _train(config: StyleOrPairsConfig, resume: bool | str, progress: Progress) -> TrainedStyle | None:
    """Worker: train, then keep the result (a cancelled run keeps what it learnt, and stays resumable)."""
    from ..training.run import save_result, train

    if resume == CONTINUE_IF_ANY:
        resume = _checkpoint_exists(config, progress)
    result = train(config, progress, resume=bool(resume))
    if result.cancelled and result.steps_done == 0:
        return None
    save_result(result, config)
    return result.path, result.metrics, result.cancelled, result.advice
