"""The toolbar's zoom box and zoom label: they show the zoom actually drawn (issue 21, defect 6).

The label and the box read the magnification from the pane on screen — its viewport width over
the scene width it shows (:meth:`ZoomBox.show_zoom` is given it), so they are right after a
layout change (a dock resized, a view mode shown for the first time, a relaunch), not only
after a zoom command.  At a zoom that is no preset the box shows that zoom as its text (it
never goes blank), and a zoom typed into it ("150", "150 %") is applied.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from srgan_desktop.compare.views import zoom_text
from srgan_desktop.ui.image_pane import ZOOM_PRESETS

__all__ = ["ZoomBox", "parse_zoom"]


def parse_zoom(text: str) -> float | None:
    """``"150 %"`` / ``"150"`` → 1.5; ``"fit"`` → 0.0 (fit); None when it is no zoom."""
    text = text.strip().lower()
    if text == "fit":
        return 0.0
    match = re.fullmatch(r"(\d+(?:[.,]\d*)?)\s*%?", text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ".")) / 100
    return value if value > 0 else None


class ZoomBox(QComboBox):
    """Fit and the presets; shows the real zoom; ``zoomChosen(zoom)`` with 0.0 for Fit."""

    zoomChosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("zoomCombo")
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItem("Fit", 0.0)
        for z in ZOOM_PRESETS:
            self.addItem(zoom_text(z), z)
        self.setMinimumContentsLength(6)
        self.activated.connect(lambda index: self.zoomChosen.emit(float(self.itemData(index))))
        self.lineEdit().returnPressed.connect(self._typed)

    def _typed(self) -> None:
        zoom = parse_zoom(self.currentText())
        if zoom is not None:
            self.zoomChosen.emit(zoom)

    def show_zoom(self, zoom: float | None, fit: bool) -> None:
        """Fit, the preset equal to ``zoom``, else ``zoom`` as text."""
        index = 0 if fit else next((i for i in range(1, self.count())
                                    if zoom is not None and abs(float(self.itemData(i)) - zoom) < 1e-3), -1)
        self.blockSignals(True)
        try:
            self.setCurrentIndex(index)
            if index < 0:
                self.setEditText(zoom_text(zoom))
        finally:
            self.blockSignals(False)
