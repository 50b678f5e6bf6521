"""Small controls shared by the views: a (key, title) combo box and a one-line control row."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

__all__ = ["KeyCombo", "control_row"]


def control_row(*parts: QWidget | str | int | None) -> QHBoxLayout:
    """A row of controls: a string is a label, an int a gap in pixels, None a stretch.

    A string starting with ``~`` is a greyed-out hint.
    """
    row = QHBoxLayout()
    row.setContentsMargins(4, 2, 4, 2)
    for part in parts:
        if part is None:
            row.addStretch(1)
        elif isinstance(part, int):
            row.addSpacing(part)
        elif isinstance(part, str):
            label = QLabel(part.lstrip("~"))
            label.setEnabled(not part.startswith("~"))
            row.addWidget(label)
        else:
            row.addWidget(part)
    return row


class KeyCombo(QComboBox):
    """Shows titles, answers keys; programmatic changes emit no signal (only the user's do)."""

    def __init__(self, parent: QWidget | None = None, name: str = "") -> None:
        super().__init__(parent)
        if name:
            self.setObjectName(name)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def key(self) -> str:
        return str(self.currentData() or "")

    def set_items(self, items: list[tuple[str, str]], default: str = "") -> None:
        """Replace the items; keep the current key if it is still there, else ``default``."""
        old = self.key()
        self.blockSignals(True)
        try:
            self.clear()
            for key, title in items:
                self.addItem(title, key)
        finally:
            self.blockSignals(False)
        self.set_key(old if self.findData(old) >= 0 else default)

    def set_key(self, key: str) -> bool:
        """Select ``key`` silently; False if there is no such item."""
        index = self.findData(key)
        if index < 0:
            return False
        self.blockSignals(True)
        try:
            self.setCurrentIndex(index)
        finally:
            self.blockSignals(False)
        return True
