"""The metrics table: PSNR/SSIM (Y, border 4) against the ground truth, run time and device."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

__all__ = ["MetricsRow", "MetricsPanel"]

COLUMNS = ("Method", "PSNR (dB)", "SSIM", "Time (s)", "Device")


@dataclass
class MetricsRow:
    title: str
    psnr: float | None = None
    ssim: float | None = None
    seconds: float | None = None
    device: str = ""
    note: str = ""


def _cell(value: float | None, fmt: str, note: str = "") -> str:
    if value is None:
        return note or "—"
    if value == float("inf"):
        return "∞"
    return format(value, fmt)


class MetricsPanel(QTableWidget):
    """One row per method; the best PSNR and SSIM are shown in bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("metricsTable")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys 1…9, F, A… stay with the window
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, rows: list[MetricsRow]) -> None:
        self.setRowCount(len(rows))
        best_psnr = max((r.psnr for r in rows if r.psnr is not None), default=None)
        best_ssim = max((r.ssim for r in rows if r.ssim is not None), default=None)
        for i, row in enumerate(rows):
            cells = (row.title, _cell(row.psnr, ".2f"), _cell(row.ssim, ".4f"),
                     _cell(row.seconds, ".2f", row.note), row.device)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                bold = (col == 1 and row.psnr is not None and row.psnr == best_psnr) or \
                       (col == 2 and row.ssim is not None and row.ssim == best_ssim)
                if bold:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(i, col, item)

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""
