"""The status bar's progress: a bar, its text beside it, and the Cancel button (issue 21, defect 13).

The words come from :func:`srgan_desktop.compare.views.progress_text`: a preparation says what it
prepares; a running method without a tile count yet (its model loading, or a one-tile run) says
its name and the seconds since it started, over a busy bar, instead of "starting…" throughout;
with tiles the bar counts them; when the bar is full and the result's measures run, "measuring
<measure>…" (the worker says which before each).  A one-second timer refreshes the seconds
while work is running.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QToolButton

from srgan_desktop.compare import ComparisonModel, Status
from srgan_desktop.compare.session import ComparisonSession
from srgan_desktop.compare.views import progress_text

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """Owns the widgets; :meth:`update` shows the session's and the model's state now."""

    def __init__(self, session: ComparisonSession, cancel: QAction, title: Callable[[str], str]) -> None:
        self._session, self._model, self._title = session, session.model, title
        self.label = QLabel("")  # the text beside the bar: never clipped by the bar's width
        self.label.setObjectName("progressLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("progressBar")
        self.bar.setFixedWidth(140)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(cancel)
        self._since: dict[str, float] = {}
        self._timer = QTimer(self.bar)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.update)
        for widget in (self.label, self.bar, self.cancel_button):
            widget.hide()
        self.widgets = (self.label, self.bar, self.cancel_button)

    def _elapsed(self, key: str) -> float:
        now = time.monotonic()
        for running in [k for k in self._since if self._model.state(k).status is not Status.RUNNING]:
            del self._since[running]
        return now - self._since.setdefault(key, now)

    def update(self) -> None:
        model: ComparisonModel = self._model
        if self._session.preparing:
            text, counts = self._session.pending.text, None
        else:
            key = model.active_request()
            measuring = next(reversed(model.measuring.items()), None) if not key else None
            if not key and not measuring and not model.busy:
                for widget in self.widgets:
                    widget.hide()
                self._timer.stop()
                self._since.clear()
                return
            if key:
                text, counts = progress_text(self._title(key), model.state(key), self._elapsed(key))
            elif measuring:
                text, counts = progress_text(self._title(measuring[0]), None, None, measuring[1])
            else:
                text, counts = progress_text("", None, None)
            self.cancel_button.show()
            if not self._timer.isActive():
                self._timer.start()
        if counts is None:
            self.bar.setRange(0, 0)  # busy
        else:
            self.bar.setRange(0, counts[1])
            self.bar.setValue(counts[0])
        self.label.setText(text)
        self.label.show()
        self.bar.show()
