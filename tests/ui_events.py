"""Real mouse input for the GUI tests: drags and wheel turns with keyboard modifiers.

``QTest.mouseMove`` cannot carry modifiers, so these build the QMouseEvent/QWheelEvent
themselves and send them to the canvas' viewport, as a window system would.  pyqtgraph drops
mouse moves closer than 10 ms apart (its ``mouseRateLimit``), so moves are spaced by 12 ms.
"""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

NO_MOD = Qt.KeyboardModifier.NoModifier
MOVE_GAP_MS = 12
LEFT = Qt.MouseButton.LeftButton


def _mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
           buttons: Qt.MouseButton, modifiers: Qt.KeyboardModifier) -> None:
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: tuple[float, float], end: tuple[float, float],
         modifiers: Qt.KeyboardModifier = NO_MOD, steps: int = 8) -> None:
    """Press the left button at ``start``, move to ``end`` in ``steps``, release."""
    sx, sy = start
    ex, ey = end
    _mouse(widget, QEvent.Type.MouseButtonPress, QPointF(sx, sy), LEFT, LEFT, modifiers)
    for i in range(1, steps + 1):
        pos = QPointF(sx + (ex - sx) * i / steps, sy + (ey - sy) * i / steps)
        QTest.qWait(MOVE_GAP_MS)
        _mouse(widget, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, LEFT, modifiers)
    _mouse(widget, QEvent.Type.MouseButtonRelease, QPointF(ex, ey), LEFT, Qt.MouseButton.NoButton,
           modifiers)
    QApplication.processEvents()


def hover(widget: QWidget, pos: tuple[float, float]) -> None:
    QTest.qWait(MOVE_GAP_MS)
    _mouse(widget, QEvent.Type.MouseMove, QPointF(*pos), Qt.MouseButton.NoButton,
           Qt.MouseButton.NoButton, NO_MOD)
    QApplication.processEvents()


def wheel(widget: QWidget, pos: tuple[float, float], notches: int,
          modifiers: Qt.KeyboardModifier = NO_MOD) -> None:
    """Turn the wheel by ``notches`` (positive = away from the user = zoom in) at ``pos``."""
    local = QPointF(*pos)
    event = QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, modifiers,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    QApplication.processEvents()


class _Blocker:
    """What :func:`window_event` yields: ``args`` of the event once it came (as qtbot's blocker)."""

    def __init__(self) -> None:
        self.args: list | None = None


#: The window's moments, as the Qt-free events that carry them (the window has no signals of its
#: own): [(source, event name, which emissions count, the args a test reads)].
_MOMENTS = {
    "idle": [("session", "idle", lambda *a: True, lambda *a: [])],
    "opened": [("session", "committed", lambda change: change.path is not None, lambda change: [str(change.path)])],
    "changed": [("session", "committed", lambda change: True, lambda change: [])],
    "failed": [("session", "failed", lambda change, message: True, lambda change, message: [message])],
    "result": [("session", "finished", lambda key: True, lambda key: [key]),
               ("session", "added", lambda request: True, lambda request: [request.key])],
    "scores": [("model", "scores", lambda key: True, lambda key: [key])],
}


@contextmanager
def window_event(qtbot, window, moment: str, timeout: int = 5000):  # noqa: ANN001 - pytest-qt's bot, a MainWindow
    """Wait, as ``qtbot.waitSignal`` does, for a moment of the window's session: ``idle`` (the worker
    finished a batch), ``opened`` (a file opened), ``changed`` (image, mode or scale applied),
    ``failed`` (a change failed; args = [message]), ``result`` (a method's result arrived or a
    result file was added; [key]), ``scores`` ([key]).  The difference map has its view's own
    signal, ``window.difference.shown``."""
    blocker = _Blocker()
    connected = []
    for source, name, counts, args in _MOMENTS[moment]:
        events = window.session.events if source == "session" else window.session.model.events

        def on(*received, counts=counts, args=args) -> None:  # noqa: ANN002
            if blocker.args is None and counts(*received):
                blocker.args = args(*received)

        events.connect(name, on)
        connected.append((events, name, on))
    try:
        yield blocker
        qtbot.waitUntil(lambda: blocker.args is not None, timeout=timeout)
    finally:
        for events, name, on in connected:
            events.disconnect(name, on)
