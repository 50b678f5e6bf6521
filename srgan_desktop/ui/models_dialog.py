"""Models ▸ Manage…: every model with its descriptor, add files (also by drag and drop), remove.

The list comes from the comparison's :class:`~srgan_desktop.compare.ModelSource` (the one
place models are found and read), so a file that cannot be used shows its own error here.
After an add or a remove the window forgets loaded models and lists them again: the methods
update without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from srgan_desktop.compare import ComparisonModel, MethodKind, ModelSource
from srgan_desktop.core.weights import WEIGHT_SUFFIXES
from srgan_desktop.errors import SrganDesktopError

__all__ = ["ModelsDialog"]

COLUMNS = ("Model", "Scale", "Descriptor", "Where", "Status")


class ModelsDialog(QDialog):
    """The model list; ``changed()`` is called after every add or remove."""

    def __init__(self, model: ComparisonModel, source: ModelSource, changed: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setObjectName("modelsDialog")
        self.setAcceptDrops(True)
        self.resize(820, 360)
        self._model = model
        self._source = source
        self._changed = changed
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("modelsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        folder = source.user_dir
        hint = QLabel(f"Drop .safetensors / .pth files here to add them (copied to {folder})." if folder
                      else "No user model folder.")
        hint.setWordWrap(True)
        self.add_button = QPushButton("&Add files…")
        self.remove_button = QPushButton("&Remove")
        close = QPushButton("Close")
        self.add_button.clicked.connect(self._add_dialog)
        self.remove_button.clicked.connect(self._remove_selected)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for widget in (self.add_button, self.remove_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        model.events.connect("methods", self.refresh)
        self.refresh()

    def done(self, result: int) -> None:  # noqa: D401 — QDialog API
        self._model.events.disconnect("methods", self.refresh)
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self._model.events.disconnect("methods", self.refresh)
        super().closeEvent(event)

    def refresh(self) -> None:
        specs = [m for m in self._model.methods() if m.kind is MethodKind.MODEL]
        self.table.setRowCount(len(specs))
        self._paths = []
        user = self._source.user_dir
        for row, spec in enumerate(specs):
            mine = spec.path is not None and user is not None and spec.path.parent == user
            status = "ok" if spec.available else spec.reason
            cells = (spec.title, f"×{spec.scale}" if spec.scale else "?", spec.description,
                     "user" if mine else "bundled", status)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(spec.path or text))
                if col == 4 and not spec.available:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(row, col, item)
            self._paths.append(spec.path if mine else None)

    def cell_text(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    # ---------------------------------------------------------------- changes
    def add_files(self, files: list[str | Path]) -> list[Path]:
        """Copy weights files into the user folder; errors are shown, the others still added."""
        added, errors = [], []
        for name in files:
            try:
                added.append(self._source.add_file(name))
            except (SrganDesktopError, OSError) as exc:
                errors.append(str(exc))
        if added:
            self._changed()
        if errors:
            QMessageBox.warning(self, "Cannot add", "\n".join(errors))
        return added

    def remove(self, path: Path) -> None:
        try:
            self._source.remove_file(path)
        except (SrganDesktopError, OSError) as exc:
            QMessageBox.warning(self, "Cannot remove", str(exc))
            return
        self._changed()

    def _add_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(WEIGHT_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Add models", "", f"Weights ({patterns})")
        if files:
            self.add_files(files)

    def _remove_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0 or row >= len(self._paths) or self._paths[row] is None:
            QMessageBox.information(self, "Remove", "Choose a user model (bundled models stay).")
            return
        self.remove(self._paths[row])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = self._dropped(event)
        if files:
            event.acceptProposedAction()
            self.add_files(files)

    @staticmethod
    def _dropped(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls()
                if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in WEIGHT_SUFFIXES]
