"""Difference map: |method − reference| per pixel, amplified ×1…×16, colour-mapped, with a scale bar.

The difference is the mean absolute difference over R, G and B (0…255); amplified and
clipped to 255 it indexes the perceptually uniform *inferno* colour map.  The scale bar
shows which difference each colour stands for at the chosen amplification.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from srgan_desktop.ui.image_pane import ImagePane
from srgan_desktop.ui.controls import KeyCombo, control_row
from srgan_desktop.ui.pane_grid import ViewSync

__all__ = ["DifferenceView", "ColorScaleBar", "difference_map", "colormap_lut", "MAX_AMPLIFICATION"]

MAX_AMPLIFICATION = 16
COLORMAP = "inferno"

#: key → (the full-resolution array, scene units per pixel) or None when not computed
ArrayProvider = Callable[[str], "tuple[np.ndarray, int] | None"]
#: runs ``fn`` off the GUI thread and calls ``done(value)`` back on it (the window's task thread)
Runner = Callable[[Callable[[], object], Callable[[object], None]], None]

_LUT: np.ndarray | None = None


def colormap_lut() -> np.ndarray:
    """The (256, 3) ``uint8`` colour table of the map."""
    global _LUT
    if _LUT is None:
        table = pg.colormap.get(COLORMAP).getLookupTable(0.0, 1.0, 256, alpha=False)
        _LUT = np.ascontiguousarray(np.asarray(table, dtype=np.uint8)[:, :3])
    return _LUT


def difference_map(image: np.ndarray, reference: np.ndarray, amplification: int
                   ) -> tuple[np.ndarray, float, float]:
    """Colour-mapped amplified difference, its mean and its maximum (in 0…255 units)."""
    if image.shape != reference.shape:
        raise ValueError(f"images differ in size: {image.shape[:2]} vs {reference.shape[:2]}")
    diff = np.abs(image.astype(np.int16) - reference.astype(np.int16)).sum(axis=2, dtype=np.int32)
    mean_abs = diff.astype(np.float32) / 3.0
    index = np.clip(mean_abs * amplification + 0.5, 0, 255).astype(np.uint8)
    return colormap_lut()[index], float(mean_abs.mean()), float(mean_abs.max())


def _at_scene_scale(rgb: np.ndarray, scale: int) -> np.ndarray:
    return rgb if scale == 1 else np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def scene_difference(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int], amplification: int
                     ) -> tuple[np.ndarray, float, float]:
    """:func:`difference_map` of two (array, scene scale) images, enlarged to scene units first."""
    return difference_map(_at_scene_scale(*a), _at_scene_scale(*b), amplification)


class ColorScaleBar(QWidget):
    """A vertical colour bar labelled with the difference each colour means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._amplification = 1
        lut = colormap_lut()[::-1]  # top = largest difference
        strip = np.ascontiguousarray(np.repeat(lut[:, None, :], 1, axis=1))
        self._image = QImage(strip.data, 1, 256, 3, QImage.Format.Format_RGB888).copy()
        self.setMinimumWidth(72)
        self.setToolTip("Colour → mean absolute RGB difference (0–255 scale)")

    def set_amplification(self, amplification: int) -> None:
        self._amplification = max(1, amplification)
        self.update()

    def labels(self) -> list[tuple[float, str]]:
        """(position 0 = bottom … 1 = top, text) of the tick labels."""
        top = 255.0 / self._amplification
        return [(f, f"{top * f:.0f}" if top * f >= 10 or f == 0 else f"{top * f:.1f}")
                for f in (0.0, 0.25, 0.5, 0.75, 1.0)]

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802
        painter = QPainter(self)
        margin = 10
        bar = QRectF(6, margin, 18, max(1, self.height() - 2 * margin))
        painter.drawImage(bar, self._image)
        painter.setPen(QColor(128, 128, 128))
        painter.drawRect(bar)
        painter.setPen(self.palette().windowText().color())
        metrics = painter.fontMetrics()
        for position, text in self.labels():
            y = bar.bottom() - position * bar.height()
            painter.drawLine(int(bar.right()), int(y), int(bar.right()) + 4, int(y))
            suffix = "+" if position == 1.0 and self._amplification > 1 else ""
            painter.drawText(int(bar.right()) + 7, int(y + metrics.ascent() / 2 - 1), text + suffix)
        painter.end()


class DifferenceView(QWidget):
    """Chooses a method and a reference, shows the amplified difference map in a synced pane."""

    settingsChanged = Signal()
    shown = Signal()  # the map on screen is the one of the current choices (after a computed one)

    def __init__(self, sync: ViewSync, arrays: ArrayProvider, titles: Callable[[str], str],
                 parent: QWidget | None = None, *, runner: Runner | None = None,
                 note: Callable[[str], str] | None = None) -> None:
        super().__init__(parent)
        self._arrays = arrays
        self._note = note or (lambda key: f"no result: {titles(key)} not computed yet")
        self._runner = runner
        self._titles = titles
        self.method_combo = KeyCombo(self, "diffMethod")
        self.reference_combo = KeyCombo(self, "diffReference")
        self.amplification = QSpinBox(self)
        self.amplification.setObjectName("diffAmplification")
        self.amplification.setRange(1, MAX_AMPLIFICATION)
        self.amplification.setPrefix("×")
        self.amplification.setValue(4)
        self.amplification.setToolTip("Amplification of the difference (×1…×16)")
        for combo in (self.method_combo, self.reference_combo):
            combo.currentIndexChanged.connect(self._changed)
        self.amplification.valueChanged.connect(self._changed)
        self.stats = QLabel("")

        bar = control_row("Difference of", self.method_combo, "against", self.reference_combo, 12,
                          "Amplify", self.amplification, 12, self.stats, None)

        self.pane = ImagePane(self)
        self.pane.setObjectName("differencePane")
        self.scale_bar = ColorScaleBar(self)
        sync.add(self.pane)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.pane, 1)
        body.addWidget(self.scale_bar)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

    def set_choices(self, methods: list[tuple[str, str]], references: list[tuple[str, str]]) -> None:
        """Fill the selectors: the last method against the first reference.

        The caller lists the HR ground truth first when there is one (Simulate mode), so it is
        the default reference; a reference chosen by the user before stays when it is still
        offered, except that a new ground truth always becomes the default.
        """
        had_truth = self.reference_combo.findData("reference") >= 0
        self.method_combo.set_items(methods, methods[-1][0] if methods else "")
        self.reference_combo.set_items(references, references[0][0] if references else "")
        if references and references[0][0] == "reference" and not had_truth:
            self.reference_combo.set_key("reference")
        self.refresh()

    def set_pair(self, method: str, reference: str) -> None:
        self.method_combo.set_key(method)
        self.reference_combo.set_key(reference)
        self.refresh()

    def pair(self) -> tuple[str, str]:
        return self.method_combo.key(), self.reference_combo.key()

    def set_amplification(self, value: int) -> None:
        self.amplification.setValue(value)

    def _changed(self, *_args) -> None:
        self.refresh()
        self.settingsChanged.emit()

    def refresh(self) -> None:
        """Recompute the map for the current choices (after a result arrived)."""
        amp = int(self.amplification.value())
        self.scale_bar.set_amplification(amp)
        method, reference = self.pair()
        a = self._arrays(method) if method else None
        b = self._arrays(reference) if reference else None
        title = f"|{self._titles(method)} − {self._titles(reference)}| ×{amp}" if method and reference else ""

        def scene_shape(item: tuple[np.ndarray, int]) -> tuple[int, int]:
            return item[0].shape[0] * item[1], item[0].shape[1] * item[1]

        if a is None or b is None or scene_shape(a) != scene_shape(b) or method == reference:
            self.pane.set_image(None, title or "Difference")
            missing = [f"{self._titles(k)}: {self._note(k)}" for k, arr in ((method, a), (reference, b))
                       if k and arr is None]
            self.pane.set_message("\n".join(missing) if missing else
                                  "Choose two different images")
            self.stats.setText("")
            return
        if self._runner is None:
            self._show(scene_difference(a, b, amp), title)
            return
        self.stats.setText("computing…")
        self._runner(lambda: scene_difference(a, b, amp), lambda value: self._show(value, title))

    def _show(self, value: object, title: str) -> None:
        rgb, mean, peak = value  # type: ignore[misc]
        self.pane.set_image(rgb, title)
        self.pane.set_message("")
        self.stats.setText(f"mean |Δ| {mean:.2f}, max {peak:.0f} (of 255)")
        self.stats.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.shown.emit()
