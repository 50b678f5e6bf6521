"""Flicker mode: one large pane; keys 1…N (or the buttons) switch it between methods instantly.

Switching only swaps the pane's prepared :class:`~srgan_desktop.ui.image_pane.Raster` (no
conversion, the view stays put), so differences between methods show up as flicker.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from srgan_desktop.ui.image_pane import ImagePane
from srgan_desktop.ui.pane_grid import ContentProvider, ViewSync

__all__ = ["FlickerView"]


class FlickerView(QWidget):
    """A row of numbered buttons above one :class:`ImagePane` that shows the chosen method."""

    currentChanged = Signal(str)

    def __init__(self, sync: ViewSync, provider: ContentProvider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._provider = provider
        self._keys: list[str] = []
        self._current = ""
        self.pane = ImagePane(self)
        self.pane.setObjectName("flickerPane")
        sync.add(self.pane)

        self._bar = QHBoxLayout()
        self._bar.setContentsMargins(4, 2, 4, 2)
        self._buttons = QButtonGroup(self)
        self._buttons.setExclusive(True)
        self._buttons.idClicked.connect(self.show_index)
        hint = QLabel("Keys 1…N switch")
        hint.setEnabled(False)
        self._hint = hint

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._bar)
        layout.addWidget(self.pane, 1)

    def keys(self) -> list[str]:
        return list(self._keys)

    def current_key(self) -> str:
        return self._current

    def set_choices(self, choices: list[tuple[str, str]]) -> None:
        """(key, title) pairs in key order 1…N; keeps the current key when it is still there."""
        while self._bar.count():
            widget = self._bar.takeAt(0).widget()
            if isinstance(widget, QToolButton):
                self._buttons.removeButton(widget)
                widget.deleteLater()
        self._keys = [key for key, _title in choices]
        for index, (_key, title) in enumerate(choices):
            button = QToolButton(self)
            button.setText(f"{index + 1}  {title}" if index < 9 else title)
            button.setCheckable(True)
            button.setAutoRaise(True)
            self._buttons.addButton(button, index)
            self._bar.addWidget(button)
        self._bar.addStretch(1)
        self._bar.addWidget(self._hint)
        if self._current not in self._keys:
            self._current = ""
        self.show_key(self._current or (self._keys[1] if len(self._keys) > 1 else
                                        (self._keys[0] if self._keys else "")))

    def show_index(self, index: int) -> bool:
        """Show the method at 0-based ``index``; False when there is none."""
        if not 0 <= index < len(self._keys):
            return False
        return self.show_key(self._keys[index])

    def show_key(self, key: str) -> bool:
        if key not in self._keys:
            return False
        changed = key != self._current
        self._current = key
        button = self._buttons.button(self._keys.index(key))
        if button is not None:
            button.setChecked(True)
        self.refresh()
        if changed:
            self.currentChanged.emit(key)
        return True

    def refresh(self) -> None:
        """Fetch the current key's content again (after a result arrived)."""
        if not self._current:
            self.pane.clear()
            return
        self._provider(self._current).apply_to(self.pane)
