"""Swipe mode: two methods in one pane, split by a draggable vertical divider.

The left method is the pane's own image; the right one is a second
:class:`~srgan_desktop.ui.image_pane.RasterItem` clipped to the right of the divider.  The
divider keeps its place on screen (a fraction of the pane's width) while the view pans and
zooms, and can be dragged with the mouse.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from srgan_desktop.ui.image_pane import ImagePane, RasterItem
from srgan_desktop.ui.controls import KeyCombo, control_row
from srgan_desktop.ui.pane_grid import ContentProvider, ViewSync

__all__ = ["SwipeView"]


class SwipeView(QWidget):
    """Left method | right method, with a divider at :meth:`divider_fraction` of the width."""

    pairChanged = Signal(str, str)

    def __init__(self, sync: ViewSync, provider: ContentProvider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._provider = provider
        self._fraction = 0.5
        self._placing = False

        self.left_combo = KeyCombo(self, "swipeLeft")
        self.right_combo = KeyCombo(self, "swipeRight")
        for combo in (self.left_combo, self.right_combo):
            combo.currentIndexChanged.connect(self._on_pair_changed)
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
        sync.add(self.pane)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.pane, 1)

    # ---------------------------------------------------------------- choices
    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        """Fill both selectors with (key, title); keep the current pair when possible.

        The default pair is the first method against the last pane (the ground truth in
        simulate mode, the last model otherwise).
        """
        keys = [k for k, _t in choices]
        self.left_combo.set_items(choices, keys[1] if len(keys) > 1 else (keys[0] if keys else ""))
        self.right_combo.set_items(choices, keys[-1] if keys else "")
        self._on_pair_changed()

    def pair(self) -> tuple[str, str]:
        return self.left_combo.key(), self.right_combo.key()

    def set_pair(self, left: str, right: str) -> None:
        self.left_combo.set_key(left)
        self.right_combo.set_key(right)
        self._on_pair_changed()

    def _on_pair_changed(self, *_args) -> None:
        self.refresh()
        self.pairChanged.emit(*self.pair())

    def refresh(self) -> None:
        """Fetch both images again (after a result arrived)."""
        left, right = self.pair()
        if not left:
            self.pane.clear()
            self.right_item.set_raster(None)
            return
        content = self._provider(left)
        other = self._provider(right)
        content.apply_to(self.pane)
        self._titles = (content.title, other.title)
        self.pane.set_title(f"◀ {content.title}   |   {other.title} ▶")
        self.right_item.set_raster(other.raster, other.scale)
        self._place_divider()

    def set_smooth(self, smooth: bool) -> None:
        self.pane.set_smooth(smooth)
        self.right_item.set_smooth(smooth)

    def _readout(self, x: float, y: float) -> str:
        """The read-out names the side it reads: left of the divider the left image, else the right."""
        divider = float(self.divider.value())
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

    def _on_divider_moved(self) -> None:
        x = float(self.divider.value())
        self.right_item.set_clip_x(x)
        if self._placing:
            return
        rect = self.pane.view_range()
        if rect.width() > 0:
            self._fraction = min(1.0, max(0.0, (x - rect.left()) / rect.width()))
