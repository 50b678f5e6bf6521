"""The experimenter's results view: MOS table, score distributions, mean ranks, pairwise tests,
BT.500 rater screening and test–retest agreement, with exports.

The distribution plot follows Fig. 5 of the SRGAN paper: one row per condition, the share of
each score 1…5 colour-coded, the mean as a red marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from srgan_desktop.mos.export import ExportError, write_csv, write_json
from srgan_desktop.mos.records import RatingRow
from srgan_desktop.mos.report import format_ci, format_p, format_retest, format_test_p, format_value
from srgan_desktop.mos.stats import Analysis, analyse
from srgan_desktop.mos.store import Study

__all__ = ["ResultsView", "DistributionPlot", "MeanRankPlot"]


def _table(headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[object]],
          highlight: Sequence[bool] = ()) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(str(value))
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if r < len(highlight) and highlight[r]:
                item.setBackground(QColor(255, 205, 200))
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


class _StaticPlot(pg.PlotWidget):
    """A white, fixed (no mouse, no menu) plot with a title and one axis label."""

    def __init__(self, title: str, axis: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel(axis, label)
        self.setTitle(title, color="k")


class DistributionPlot(_StaticPlot):
    """Share of each score per condition (colour), mean marked in red, conditions as rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Score distribution (mean in red)", "bottom", "score", parent)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.means = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(220, 30, 30), pen=pg.mkPen("w"))
        self.addItem(self.means)
        self._labels: list[pg.TextItem] = []

    def set_data(self, distribution: dict[str, list[int]], means: dict[str, float]) -> None:
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        names = list(distribution)
        counts = np.array([distribution[n] for n in names], dtype=np.float64).reshape(len(names), 5)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        self.image.setImage(share if len(names) else np.zeros((1, 5)), levels=(0.0, 1.0))
        self.image.setRect(0.5, -0.5, 5.0, max(1, len(names)))
        self.means.setData([means.get(n, math.nan) for n in names], list(range(len(names))))
        for row, name in enumerate(names):
            for col in range(5):
                if counts[row, col]:
                    text = pg.TextItem(f"{100 * share[row, col]:.0f}%", anchor=(0.5, 0.5),
                                       color="w" if share[row, col] < 0.6 else "k")
                    text.setPos(col + 1, row + 0.28)  # below the mean marker
                    self.addItem(text)
                    self._labels.append(text)
        self.getAxis("left").setTicks([[(i, n) for i, n in enumerate(names)]])
        self.getAxis("bottom").setTicks([[(s, str(s)) for s in range(1, 6)]])
        self.getViewBox().invertY(True)
        self.setXRange(0.5, 5.5, padding=0.02)
        self.setYRange(-0.5, max(0.5, len(names) - 0.5), padding=0.02)


class MeanRankPlot(_StaticPlot):
    """Mean rank per condition (1 = best within each rater × image × replicate block)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Mean rank", "left", "mean rank (1 = best)", parent)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(70, 110, 180))
        self.addItem(self.bars)

    def set_data(self, ranks: dict[str, float]) -> None:
        names = list(ranks)
        values = [0.0 if math.isnan(ranks[n]) else ranks[n] for n in names]
        self.bars.setOpts(x=list(range(len(names))), height=values, width=0.6)
        self.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        self.setXRange(-0.6, max(0.6, len(names) - 0.4), padding=0.02)
        self.setYRange(0, max(1.0, len(names)), padding=0.05)


class ResultsView(QWidget):
    """Shows the analysis of a study (or of imported rows) and exports its ratings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.study: Study | None = None
        self.rows: list[RatingRow] = []
        self.conditions: list[str] = []
        self.analysis: Analysis | None = None

        self.heading = QLabel("No study open")
        self.exclude_box = QCheckBox("Exclude raters flagged by BT.500 screening")
        self.exclude_box.toggled.connect(self.refresh)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reload)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._export("csv"))
        self.json_button = QPushButton("Export JSON…")
        self.json_button.clicked.connect(lambda: self._export("json"))
        bar = QHBoxLayout()
        bar.addWidget(self.heading, 1)
        bar.addWidget(self.exclude_box)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.json_button)

        self.summary_table = _table(["condition", "n", "MOS", "SD", "95% CI", "raters", "mean rank"])
        self.distribution_plot = DistributionPlot()
        self.rank_plot = MeanRankPlot()
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.distribution_plot)
        plots.addWidget(self.rank_plot)
        plots.setSizes([600, 300])
        overview = QSplitter(Qt.Orientation.Vertical)
        overview.addWidget(self.summary_table)
        overview.addWidget(plots)
        overview.setSizes([160, 340])

        self.pairwise_table = _table(["pair", "ΔMOS", "raters", "Wilcoxon W", "p", "p (Holm)",
                                      "Mann–Whitney U", "p", "p (Holm)"])
        self.screening_table = _table(["rater", "presentations", "P", "Q", "(P+Q)/n",
                                       "|P−Q|/(P+Q)", "flagged"])
        self.retest_label = QLabel("")
        self.retest_label.setWordWrap(True)
        screening = QWidget()
        screening_layout = QVBoxLayout(screening)
        screening_layout.addWidget(QLabel("ITU-R BT.500 observer screening (β2 test, P/Q counts): "
                                          "flagged rows are highlighted."))
        screening_layout.addWidget(self.screening_table, 1)
        screening_layout.addWidget(self.retest_label)

        self.tabs = QTabWidget()
        self.tabs.addTab(overview, "MOS")
        self.tabs.addTab(self.pairwise_table, "Pairwise tests")
        self.tabs.addTab(screening, "Raters")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        self._set_buttons()

    def _set_buttons(self) -> None:
        has = bool(self.rows)
        for button in (self.csv_button, self.json_button):
            button.setEnabled(has)
        self.refresh_button.setEnabled(self.study is not None)

    def set_study(self, study: Study | None) -> None:
        self.study = study
        self.reload()

    def reload(self) -> None:
        if self.study is None:
            self.set_rows([], [], "No study open")
            return
        info = self.study.info()
        self.set_rows(self.study.rows(), self.study.design.condition_keys,
                      f"<b>{self.study.name}</b> — {info.raters} rater(s), {info.complete_raters} "
                      f"complete, {info.ratings} rating(s); {info.trials_per_rater} trials per rater")

    def set_rows(self, rows: list[RatingRow], conditions: Sequence[str], heading: str = "") -> None:
        self.rows = list(rows)
        self.conditions = list(conditions)
        self.heading.setText(heading)
        self.refresh()

    def refresh(self) -> None:
        self.analysis = analyse(self.rows, self.conditions, exclude_flagged=self.exclude_box.isChecked())
        a = self.analysis
        _fill(self.summary_table, [
            (s.condition, s.n, format_value(s.mos), format_value(s.sd),
             format_ci(s.ci_low, s.ci_high, s.note), s.raters,
             format_value(a.mean_ranks.get(s.condition, math.nan)))
            for s in a.summary])
        _fill(self.pairwise_table, [
            (f"{t.a} vs {t.b}", format_value(t.mos_diff), t.raters, format_value(t.wilcoxon_stat, 1),
             format_test_p(t.wilcoxon_p), format_test_p(t.wilcoxon_p_holm),
             format_value(t.mwu_stat, 1), format_test_p(t.mwu_p), format_test_p(t.mwu_p_holm))
            for t in a.pairwise])
        _fill(self.screening_table, [
            (s.rater, s.presentations, s.p, s.q, format_value(s.ratio, 3),
             format_value(s.balance, 3), "yes" if s.rejected else "no") for s in a.screening],
            highlight=[s.rejected for s in a.screening])
        self.distribution_plot.set_data(a.distribution, {s.condition: s.mos for s in a.summary})
        self.rank_plot.set_data(a.mean_ranks)
        flagged = sum(s.rejected for s in a.screening)
        text = f"{flagged} rater(s) flagged by BT.500"
        if a.excluded:
            text += f"; excluded from the analysis: {', '.join(a.excluded)}"
        text += ". " + format_retest(a.retest)
        self.retest_label.setText(text)
        self._set_buttons()

    def export_to(self, path: Path) -> Path:
        """Write the ratings shown (all raters) to ``path`` (.csv or .json)."""
        if path.suffix.lower() == ".json":
            return write_json(path, self.rows, self.study.design.to_dict() if self.study else None)
        return write_csv(path, self.rows)

    def _export(self, kind: str) -> None:
        name = self.study.folder.name if self.study else "ratings"
        path, _ = QFileDialog.getSaveFileName(self, "Export ratings", f"{name}.{kind}",
                                              "CSV (*.csv)" if kind == "csv" else "JSON (*.json)")
        if not path:
            return
        try:
            self.export_to(Path(path))
        except ExportError as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
