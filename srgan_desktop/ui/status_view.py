"""The comparison window's status bar: read-out, run times, progress (``ui/progress.py``), device.

A view built from the session and following its events (napari's pattern): ``message`` shows a
passing line (seconds 0: until the next), ``device`` the device chosen and what it resolves to,
a method that starts running the device it really runs on; the read-out's words are
:func:`~srgan_desktop.compare.views.cursor_text`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QStatusBar

from srgan_desktop.compare import Status
from srgan_desktop.compare.session import ComparisonSession
from srgan_desktop.compare.views import cursor_text
from srgan_desktop.ui.progress import ProgressDisplay

__all__ = ["StatusView"]


def _label(name: str) -> QLabel:
    label = QLabel("")
    label.setObjectName(name)
    return label


class StatusView:
    """``cursor``, ``times`` and ``device`` labels and the ``progress`` display, in ``bar``."""

    def __init__(self, bar: QStatusBar, session: ComparisonSession, cancel: QAction,
                 title: Callable[[str], str]) -> None:
        self.bar, self.session = bar, session
        self.cursor, self.times, self.device = _label("cursorLabel"), _label("timesLabel"), _label("deviceLabel")
        self.progress = ProgressDisplay(session, cancel, title)
        for widget in (self.cursor, self.times, *self.progress.widgets, self.device):
            bar.addPermanentWidget(widget)
        session.events.connect("message", lambda text, seconds: bar.showMessage(text, int(seconds * 1000)))
        session.events.connect("device", self._on_device)
        session.model.events.connect("status", self._on_status)

    def show_cursor(self, x: float, y: float) -> None:
        self.cursor.setText(cursor_text(self.session.model, x, y))

    def clear_cursor(self) -> None:
        self.cursor.setText("")

    def _on_device(self, name: str, resolved: str) -> None:
        self.device.setText(f"Device: {resolved}" + (" (auto)" if name == "auto" else ""))

    def _on_status(self, key: str) -> None:
        state = self.session.model.state(key)
        if state.status is Status.RUNNING and not state.tiles_total:
            self.device.setText(f"Device: {state.device}")
