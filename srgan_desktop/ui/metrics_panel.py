"""The metrics table: PSNR/SSIM (Y, border = the scale) against the ground truth, NIQE, LPIPS, run time and device.

The time is inference only; loading the model (and its first-forward set-up) is its own
column, so the first model run no longer looks slower than the same architecture run second.
Extra measures of the scores record (``compare.Scores.extra``: NIQE, LPIPS…) go in
:data:`EXTRA_COLUMNS` order after SSIM — built from the measure registry
(:data:`srgan_desktop.core.measures.MEASURES`, its ``WINDOW_EXTRAS``: title and digits); a string value (``"unavailable: reason"``) shows "n/a"
with the reason as the cell's tooltip.  NIQE (no reference: Upscale mode too) and LPIPS (Simulate
mode, with the backbone weights of Compare ▸ LPIPS backbone weights…) come from
:mod:`srgan_desktop.compare.perceptual`; lower is better for both, so their lowest value is
bold.  An extra column that no row has a value for (LPIPS in Upscale mode) is hidden.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from srgan_desktop.compare.views import MetricsRow
from srgan_desktop.core.measures import MEASURES, WINDOW_EXTRAS

__all__ = ["MetricsRow", "MetricsPanel"]

#: (scores key, header, format) of the measures after SSIM, from the registry (lower is better for both)
EXTRA_COLUMNS: list[tuple[str, str, str]] = [(n, MEASURES[n].title, f".{MEASURES[n].digits}f")
                                             for n in WINDOW_EXTRAS]
BASE_COLUMNS = ("Method", "PSNR (dB)", "SSIM", "Time (s)", "Load (s)", "Device")
COLUMNS = BASE_COLUMNS  # kept for callers that index the base columns


def _cell(value: float | None, fmt: str, note: str = "") -> str:
    if value is None:
        return note or "—"
    if value == float("inf"):
        return "∞"
    return format(value, fmt)


class MetricsPanel(QTableWidget):
    """One row per method; the best PSNR and SSIM are shown in bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(BASE_COLUMNS) + len(EXTRA_COLUMNS), parent)
        self.setObjectName("metricsTable")
        headers = list(BASE_COLUMNS[:3]) + [h for _k, h, _f in EXTRA_COLUMNS] + list(BASE_COLUMNS[3:])
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys 1…9, F, A… stay with the window
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(headers)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, rows: list[MetricsRow]) -> None:
        if rows == getattr(self, "_shown", None):
            return  # unchanged (the window asks after every status change; a redraw costs ~8 ms)
        self._shown = list(rows)
        self.setRowCount(len(rows))
        best_psnr = max((r.psnr for r in rows if r.psnr is not None), default=None)
        best_ssim = max((r.ssim for r in rows if r.ssim is not None), default=None)
        best_extra = {key: min((v for r in rows if isinstance(v := r.extra.get(key), (int, float))), default=None)
                      for key, _header, _fmt in EXTRA_COLUMNS}  # lower is better
        for index, (key, _header, _fmt) in enumerate(EXTRA_COLUMNS):
            self.setColumnHidden(3 + index, all(r.extra.get(key) is None for r in rows))
        for i, row in enumerate(rows):
            extras, tips, best = [], {}, {1: row.psnr is not None and row.psnr == best_psnr,
                                          2: row.ssim is not None and row.ssim == best_ssim}
            for index, (key, _header, fmt) in enumerate(EXTRA_COLUMNS):
                value = row.extra.get(key)
                best[3 + index] = value is not None and value == best_extra[key]
                if isinstance(value, str):
                    extras.append("n/a")
                    tips[3 + index] = value
                else:
                    extras.append(_cell(value, fmt))
            load = "" if row.load_seconds is None else ("—" if not row.load_seconds else f"{row.load_seconds:.2f}")
            cells = (row.title, _cell(row.psnr, ".2f"), _cell(row.ssim, ".4f"), *extras,
                     _cell(row.seconds, ".2f", row.note), load, row.device)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in tips:
                    item.setToolTip(tips[col])
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if best.get(col):
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(i, col, item)

    def column(self, header: str) -> int:
        """The index of the column titled ``header`` (hidden columns count)."""
        titles = [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]
        return titles.index(header)

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""
