"""Swipe mode: two methods in one pane, split by a draggable vertical divider.

The left method is the pane's own image; the right one is a second
:class:`~srgan_desktop.ui.image_pane.RasterItem` clipped to the right of the divider.  The
divider keeps its place on screen (a fraction of the pane's width) while the view pans and
zooms, and can be dragged with the mouse.

A side whose method has no image (a broken model, a ×2 model at ×4, not run yet) is drawn as a
grey placeholder with its "no result: <reason>" note, and its read-out says "no value": the
other side's pixels never show under its name (issue 21, defect 1).  Until the user picks a
pair, the pair is the window's default (:func:`srgan_desktop.compare.views.default_pair`),
which never picks a method that cannot run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from srgan_desktop.compare.views import NO_VALUE
from srgan_desktop.ui.image_pane import ImagePane, Raster, RasterItem
from srgan_desktop.ui.controls import KeyCombo, control_row
from srgan_desktop.ui.pane_grid import ContentProvider, ViewSync

__all__ = ["SwipeView", "placeholder"]

PLACEHOLDER_GREY = 48


def placeholder(raster: Raster, scale: float) -> tuple[Raster, float]:
    """A grey raster covering the scene of ``raster`` shown at ``scale`` (a few hundred pixels at most)."""
    width, height = raster.width * scale, raster.height * scale
    block = max(1, math.ceil(max(width, height) / 256))
    rgb = np.full((math.ceil(height / block), math.ceil(width / block), 3), PLACEHOLDER_GREY, dtype=np.uint8)
    return Raster(rgb), float(block)


class SwipeView(QWidget):
    """Left method | right method, with a divider at :meth:`divider_fraction` of the width."""

    pairChanged = Signal(str, str)

    def __init__(self, sync: ViewSync, provider: ContentProvider, parent: QWidget | None = None,
                 note: Callable[[str], str] = lambda _key: "",
                 default: Callable[[], tuple[str, str]] | None = None) -> None:
        super().__init__(parent)
        self._provider = provider
        self._note = note
        self._default = default
        self._fraction = 0.5
        self._placing = False
        self._user_chose = False
        self._notes = ("", "")

        self.left_combo = KeyCombo(self, "swipeLeft")
        self.right_combo = KeyCombo(self, "swipeRight")
        for combo in (self.left_combo, self.right_combo):
            combo.currentIndexChanged.connect(self._on_user_pair)  # programmatic changes are silent
        bar = control_row("Left:", self.left_combo, 16, "Right:", self.right_combo, None,
                          "~Drag the white divider to swipe")

        self.pane = ImagePane(self)
        self.pane.setObjectName("swipePane")
        self.right_item = RasterItem()
        self.right_item.setZValue(1)
        self.pane.view_box.addItem(self.right_item)
        self.divider = pg.InfiniteLine(angle=90, movable=True,
                                       pen=pg.mkPen(QColor(255, 255, 255), width=2),
                                       hoverPen=pg.mkPen(QColor(255, 200, 0), width=3))
        self.divider.setZValue(20)
        self.divider.setCursor(Qt.CursorShape.SplitHCursor)
        self.pane.view_box.addItem(self.divider, ignoreBounds=True)
        self.divider.sigPositionChanged.connect(self._on_divider_moved)
        self.pane.viewChanged.connect(self._place_divider)
        self.pane.readout_provider = self._readout
        self._titles = ("", "")
        self.note_labels = (QLabel(self.pane.canvas), QLabel(self.pane.canvas))
        for label, name in zip(self.note_labels, ("swipeLeftNote", "swipeRightNote"), strict=True):
            label.setObjectName(name)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setStyleSheet("color: #eee; background: transparent; padding: 8px;")
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            label.hide()
        sync.add(self.pane)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.pane, 1)

    # ---------------------------------------------------------------- choices
    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        """Fill both selectors with (key, title); keep the pair the user chose when possible.

        Until the user chooses, the pair is the ``default`` given to the view (else the first
        method against the last pane), asked again at every refresh.
        """
        keys = [k for k, _t in choices]
        fallback = (keys[1] if len(keys) > 1 else (keys[0] if keys else ""), keys[-1] if keys else "")
        default = self._default() if self._default is not None else fallback
        self.left_combo.set_items(choices, default[0])
        self.right_combo.set_items(choices, default[1])
        self._on_pair_changed()

    def pair(self) -> tuple[str, str]:
        return self.left_combo.key(), self.right_combo.key()

    def set_pair(self, left: str, right: str) -> None:
        self._user_chose = True
        self.left_combo.set_key(left)
        self.right_combo.set_key(right)
        self._on_pair_changed()

    def _on_user_pair(self, *_args) -> None:
        self._user_chose = True
        self._on_pair_changed()

    def _on_pair_changed(self, *_args) -> None:
        self.refresh()
        self.pairChanged.emit(*self.pair())

    def refresh(self) -> None:
        """Fetch both images again (after a result arrived)."""
        if not self._user_chose and self._default is not None:
            left, right = self._default()
            self.left_combo.set_key(left)
            self.right_combo.set_key(right)
        left, right = self.pair()
        if not left:
            self.pane.clear()
            self.right_item.set_raster(None)
            return
        content = self._provider(left)
        other = self._provider(right)
        self._titles = (content.title, other.title)
        notes = (self._note(left) if content.raster is None else "", self._note(right) if other.raster is None else "")
        self._notes = notes
        if content.raster is None and other.raster is None:
            content.apply_to(self.pane)
            if any(notes):
                self.pane.set_message(f"◀ {notes[0]}   |   {notes[1]} ▶")
            self.right_item.set_raster(None)
        else:
            left_raster, left_scale = ((content.raster, content.scale) if content.raster is not None
                                       else placeholder(other.raster, other.scale))
            right_raster, right_scale = ((other.raster, other.scale) if other.raster is not None
                                         else placeholder(content.raster, content.scale))
            self.pane.set_image(left_raster, scale=left_scale)
            self.pane.set_message("")
            self.right_item.set_raster(right_raster, right_scale)
        self.pane.set_title(f"◀ {content.title}   |   {other.title} ▶")
        self._place_divider()

    def side_notes(self) -> tuple[str, str]:
        """The "no result: …" note of each side ("" where it shows an image)."""
        return self._notes

    def _place_notes(self, x: float) -> None:
        show = self.pane.image() is not None
        rect = self.pane.canvas.rect()
        point = self.pane.view_box.mapViewToScene(QPointF(x, 0.0))
        split = min(rect.width(), max(0, round(self.pane.canvas.mapFromScene(point).x())))
        for label, text, (x0, x1) in zip(self.note_labels, self._notes, ((0, split), (split, rect.width())),
                                         strict=True):
            label.setText(text)
            label.setGeometry(x0, 0, max(0, x1 - x0), rect.height())
            label.setVisible(bool(text) and show and x1 > x0)

    def set_smooth(self, smooth: bool) -> None:
        self.pane.set_smooth(smooth)
        self.right_item.set_smooth(smooth)

    def _readout(self, x: float, y: float) -> str:
        """The read-out names the side it reads: left of the divider the left image, else the right."""
        divider = float(self.divider.value())
        side = 0 if x < divider else 1
        if self._notes[side]:
            return f"◀ {self._titles[0]}: {NO_VALUE}" if side == 0 else f"{self._titles[1]} ▶: {NO_VALUE}"
        if x < divider:
            return f"◀ {self._titles[0]}: {self.pane.pixel_text(x, y)}"
        item = self.right_item
        return f"{self._titles[1]} ▶: {self.pane.pixel_text(x, y, item.raster, item.scale_)}"

    # ---------------------------------------------------------------- divider
    def divider_fraction(self) -> float:
        return self._fraction

    def set_divider_fraction(self, fraction: float) -> None:
        self._fraction = min(1.0, max(0.0, fraction))
        self._place_divider()

    def _place_divider(self, *_args) -> None:
        rect = self.pane.view_range()
        x = rect.left() + self._fraction * rect.width()
        self._placing = True
        try:
            self.divider.setValue(x)
        finally:
            self._placing = False
        self.right_item.set_clip_x(x)
        self._place_notes(x)

    def _on_divider_moved(self) -> None:
        x = float(self.divider.value())
        self.right_item.set_clip_x(x)
        self._place_notes(x)
        if self._placing:
            return
        rect = self.pane.view_range()
        if rect.width() > 0:
            self._fraction = min(1.0, max(0.0, (x - rect.left()) / rect.width()))
