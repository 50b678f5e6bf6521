"""Synchronised panes: :class:`ViewSync` keeps panes on the same region, :class:`PaneGrid` lays them out.

Sync is by view *state* (centre point and zoom), not by linking ViewBox axes: equal-sized
panes then show exactly the same rectangle, and a pane of another size (the large flicker or
swipe pane) shows the same place at the same magnification.  A pane the user moves with
:data:`~srgan_desktop.ui.image_pane.UNSYNC_MODIFIER` (Shift) held keeps an offset from the
group (to fix a misalignment); :meth:`ViewSync.realign` drops every offset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from srgan_desktop.ui.image_pane import ImagePane, Raster, ViewState

__all__ = ["ViewSync", "PaneGrid", "PaneContent", "ContentProvider", "grid_shape"]


@dataclass
class PaneContent:
    """What one pane shows for a key: an image (or a note in its place) and a title."""

    title: str
    raster: Raster | None = None
    scale: float = 1.0
    message: str = ""

    def apply_to(self, pane: ImagePane) -> None:
        pane.set_image(self.raster, self.title, scale=self.scale)
        pane.set_message("" if self.raster is not None else self.message)


#: The main window's answer to "what does the pane for this key show now?"
ContentProvider = Callable[[str], PaneContent]


class ViewSync(QObject):
    """A group of :class:`ImagePane` that always show the same region, with a shared crosshair."""

    cursorMoved = Signal(float, float)   # group (re-aligned) scene coordinates
    cursorLeft = Signal()
    viewChanged = Signal()               # the group's view changed (zoom label, ...)
    paneViewChanged = Signal()           # any pane's view changed (a fit pane re-fitted on resize)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._panes: list[ImagePane] = []
        self._offsets: dict[int, tuple[float, float]] = {}
        self._state: ViewState | None = None  # None: every pane fits its image
        self._busy = False
        self._cursor: tuple[float, float] | None = None  # group coordinates of the crosshair
        self._crosshair = True  # every pane, also one added later, follows it (issue 21, defect 5)

    # ---------------------------------------------------------------- members
    def panes(self) -> list[ImagePane]:
        return list(self._panes)

    def add(self, pane: ImagePane) -> None:
        if pane in self._panes:
            return
        self._panes.append(pane)
        pane.set_crosshair_enabled(self._crosshair)
        pane.viewChanged.connect(self.paneViewChanged)
        pane.userViewChanged.connect(self._on_user_view)
        pane.cursorMoved.connect(self._on_cursor)
        pane.cursorLeft.connect(self._on_leave)
        self.sync_pane(pane)

    def remove(self, pane: ImagePane) -> None:
        if pane not in self._panes:
            return
        self._panes.remove(pane)
        self._offsets.pop(id(pane), None)
        pane.viewChanged.disconnect(self.paneViewChanged)
        pane.userViewChanged.disconnect(self._on_user_view)
        pane.cursorMoved.disconnect(self._on_cursor)
        pane.cursorLeft.disconnect(self._on_leave)

    def offset(self, pane: ImagePane) -> tuple[float, float]:
        """How far (scene units) ``pane`` was moved away from the group with the modifier."""
        return self._offsets.get(id(pane), (0.0, 0.0))

    def is_aligned(self) -> bool:
        return not any(dx or dy for dx, dy in self._offsets.values())

    # ------------------------------------------------------------------ view
    def state(self) -> ViewState | None:
        """The group's view (centre and zoom), or None while every pane fits its image."""
        return self._state

    def is_fit(self) -> bool:
        return self._state is None

    def reference_pane(self) -> ImagePane | None:
        visible = [p for p in self._panes if p.isVisible() and p.image() is not None]
        return (visible or [p for p in self._panes if p.image() is not None] or [None])[0]

    def current_state(self) -> ViewState | None:
        """The group state, or in fit mode the state of a visible pane."""
        if self._state is not None:
            return self._state
        ref = self.reference_pane()
        if ref is None:
            return None
        st = ref.view_state()
        dx, dy = self.offset(ref)
        return st.moved(-dx, -dy)

    def set_state(self, state: ViewState | None) -> None:
        """Show ``state`` in every pane (each with its own offset); None fits them all."""
        self._state = state
        for pane in self._panes:
            self.sync_pane(pane)
        self.viewChanged.emit()

    def sync_pane(self, pane: ImagePane) -> None:
        """Bring one pane to the group's view (after it was added, shown or given an image)."""
        self._busy = True
        try:
            if self._state is None:
                pane.fit()
            else:
                dx, dy = self.offset(pane)
                pane.set_view_state(self._state.moved(dx, dy))
        finally:
            self._busy = False

    def fit(self) -> None:
        self.set_state(None)

    def zoom_by(self, factor: float) -> None:
        state = self.current_state()
        if state is not None:
            self.set_zoom(state.zoom * factor)

    def set_zoom(self, zoom: float) -> None:
        state = self.current_state()
        if state is not None:
            self.set_state(ViewState(state.cx, state.cy, zoom))

    def zoom(self) -> float | None:
        state = self.current_state()
        return None if state is None else state.zoom

    def realign(self) -> None:
        """Forget every pane's private offset: all panes show the group's region again."""
        self._offsets.clear()
        self.set_state(self._state)
        if self._cursor is not None:  # every crosshair to the same point again, without a mouse move
            for pane in self._panes:
                pane.set_crosshair(*self._cursor)

    def _on_user_view(self, local: bool) -> None:
        pane = self.sender()
        if not isinstance(pane, ImagePane) or self._busy:
            return
        state = pane.view_state()
        if local:
            if self._state is None:
                # leaving fit mode: the group stays where the other panes are
                others = [p for p in self._panes if p is not pane and p.image() is not None]
                base = others[0].view_state().moved(*(-v for v in self.offset(others[0]))) \
                    if others else state
                self._state = ViewState(base.cx, base.cy, state.zoom)
            self._offsets[id(pane)] = (state.cx - self._state.cx, state.cy - self._state.cy)
            if state.zoom != self._state.zoom:
                self._state = ViewState(self._state.cx, self._state.cy, state.zoom)
                for other in self._panes:
                    if other is not pane:
                        self.sync_pane(other)
            self.viewChanged.emit()
            return
        dx, dy = self.offset(pane)
        self._state = state.moved(-dx, -dy)
        for other in self._panes:
            if other is not pane:
                self.sync_pane(other)
        self.viewChanged.emit()

    # -------------------------------------------------------------- crosshair
    def crosshair_enabled(self) -> bool:
        return self._crosshair

    def set_crosshair_enabled(self, on: bool) -> None:
        """The crosshair of every pane of the group, now and added later."""
        self._crosshair = bool(on)
        for pane in self._panes:
            pane.set_crosshair_enabled(self._crosshair)

    def _on_cursor(self, x: float, y: float) -> None:
        pane = self.sender()
        dx, dy = self.offset(pane) if isinstance(pane, ImagePane) else (0.0, 0.0)
        gx, gy = x - dx, y - dy
        self._cursor = (gx, gy)
        for other in self._panes:
            ox, oy = self.offset(other)
            other.set_crosshair(gx + ox, gy + oy)
        self.cursorMoved.emit(gx, gy)

    def _on_leave(self) -> None:
        self._cursor = None
        for pane in self._panes:
            pane.hide_crosshair()
        self.cursorLeft.emit()


def grid_shape(count: int, arrangement: str) -> tuple[int, int]:
    """(rows, columns) for ``count`` panes: ``row`` = 1×N, ``grid`` = as square as possible."""
    if count <= 0:
        return 0, 0
    if arrangement == "row":
        return 1, count
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


class PaneGrid(QWidget):
    """Equal-sized panes, one per key (method), in a 1×N row or a near-square grid."""

    paneActivated = Signal(str)  # the key of the pane the user clicked

    def __init__(self, sync: ViewSync, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sync = sync
        self._panes: dict[str, ImagePane] = {}
        self._order: list[str] = []
        self._arrangement = "grid"
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    def arrangement(self) -> str:
        return self._arrangement

    def set_arrangement(self, arrangement: str) -> None:
        if arrangement not in ("grid", "row"):
            raise ValueError(f"unknown arrangement '{arrangement}' (grid or row)")
        self._arrangement = arrangement
        self._relayout()

    def keys(self) -> list[str]:
        return list(self._order)

    def pane(self, key: str) -> ImagePane:
        return self._panes[key]

    def panes(self) -> list[ImagePane]:
        return [self._panes[k] for k in self._order]

    def set_keys(self, keys: list[str]) -> None:
        """Show one pane per key in this order; existing panes are kept, others removed."""
        for key in list(self._panes):
            if key not in keys:
                pane = self._panes.pop(key)
                self.sync.remove(pane)
                pane.setParent(None)
                pane.deleteLater()
        for key in keys:
            if key not in self._panes:
                pane = ImagePane(self)
                pane.setObjectName(f"pane_{key}")
                pane.activated.connect(lambda k=key: self.paneActivated.emit(k))
                self._panes[key] = pane
                self.sync.add(pane)
        self._order = list(keys)
        self._relayout()

    def _relayout(self) -> None:
        while self._layout.count():
            self._layout.takeAt(0)
        for i in range(self._layout.rowCount()):
            self._layout.setRowStretch(i, 0)
        for i in range(self._layout.columnCount()):
            self._layout.setColumnStretch(i, 0)
        rows, cols = grid_shape(len(self._order), self._arrangement)
        for index, key in enumerate(self._order):
            self._layout.addWidget(self._panes[key], index // cols, index % cols)
        for r in range(rows):
            self._layout.setRowStretch(r, 1)
        for c in range(cols):
            self._layout.setColumnStretch(c, 1)
