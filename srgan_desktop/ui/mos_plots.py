"""The plots of the MOS results view, each a fixed (no mouse, no menu) white pyqtgraph plot,
and :func:`save_plot` (PNG, or SVG through Qt's generator, written atomically).

Rules: no axis rescales its numbers with an SI prefix (pyqtgraph would label a 0–0.5 axis
"(x0.001)"); condition names under bars are elided to each bar's slot, so they never overlap
(the full names are in the tooltip and the tables); a bar plot without a fixed range (the
Bradley–Terry scale values) draws bars from 0, up or down, in a range that holds every bar and
interval.  The distribution plot follows Fig. 5 of the SRGAN paper: one row per condition, the
share of each score 1…5 colour-coded, the mean as a red marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from srgan_desktop.mos.agreement import logistic4
from srgan_desktop.mos.ratings_file import ExportError
from srgan_desktop.utils import atomic_path

__all__ = ["save_plot", "DistributionPlot", "MeanRankPlot", "MosBarPlot", "AgreementPlot"]


def save_plot(plot: pg.PlotWidget, path: Path) -> Path:
    """Write ``plot`` as PNG (or SVG, through Qt's SVG generator, when the suffix is .svg),
    atomically; raise ExportError on failure."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            if path.suffix.lower() == ".svg":
                generator = QSvgGenerator()
                generator.setFileName(str(tmp))
                generator.setSize(plot.size())
                generator.setViewBox(plot.rect())
                generator.setTitle(plot.plotItem.titleLabel.text)
                painter = QPainter(generator)
                plot.render(painter)
                painter.end()
            else:
                image = ImageExporter(plot.plotItem).export(toBytes=True)
                if not image.save(str(tmp), "PNG"):
                    raise OSError("the PNG could not be written")
            if not Path(tmp).is_file():
                raise OSError("nothing was written")
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"could not write {path}: {exc}") from exc
    return path


class _StaticPlot(pg.PlotWidget):
    """A white, fixed (no mouse, no menu) plot with a title and one axis label.

    Axes never rescale their numbers with an SI prefix (pyqtgraph would label a 0–0.5 axis
    "(x0.001)"); condition names under bars are elided to the room each bar has, so they never
    overlap (the full names are in the tables and the tooltip)."""

    def __init__(self, title: str, axis: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)
        self.setLabel(axis, label)
        self.setTitle(title, color="k")

    _names: list[str] = []  # the condition names under the bars (replaced, never mutated)

    def set_names(self, names: Sequence[str]) -> None:
        """Condition names as the bottom ticks at x = 0, 1, …, elided to fit."""
        self._names = list(names)
        self.setToolTip("\n".join(f"{i + 1}. {n}" for i, n in enumerate(self._names)))
        self._elide_names()

    def _elide_names(self) -> None:
        if not self._names:
            self.getAxis("bottom").setTicks([[]])
            return
        view = self.getViewBox()
        left, right = view.viewRange()[0]
        pixels = view.width() or self.width()
        room = max(8.0, 0.95 * pixels / max(right - left, 1e-9))  # one x unit = one bar's slot
        metrics = QFontMetrics(self.getAxis("bottom").style.get("tickFont") or self.font())
        self.getAxis("bottom").setTicks([[
            (i, metrics.elidedText(n, Qt.TextElideMode.ElideRight, int(room))) for i, n in enumerate(self._names)]])

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        super().resizeEvent(event)
        if self._names:
            self._elide_names()


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
        self.setXRange(-0.6, max(0.6, len(names) - 0.4), padding=0.02)
        self.setYRange(0, max(1.0, len(names)), padding=0.05)
        self.set_names(names)


class MosBarPlot(_StaticPlot):
    """MOS per condition with its 95 % CI as error bars (no error bar where the CI is withheld).

    ``y_range`` None (the Bradley–Terry scale values): bars from 0, up or down, and a range that
    holds every bar and interval, so no bar leaves the chart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("MOS with 95 % CI", "left", "MOS", parent)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(90, 150, 90))
        self.errors = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0.2,
                                      pen=pg.mkPen("k", width=2))
        self.addItem(self.bars)
        self.addItem(self.errors)

    def set_data(self, names: Sequence[str], mos: Sequence[float], low: Sequence[float],
                 high: Sequence[float], y_range: tuple[float, float] | None = (0.0, 5.2)) -> None:
        x = np.arange(len(names), dtype=np.float64)
        m = np.array([0.0 if math.isnan(v) else v for v in mos], dtype=np.float64)
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        has = ~(np.isnan(lo) | np.isnan(hi))
        self.bars.setOpts(x=x, y0=0.0, height=m, width=0.6)
        self.errors.setData(x=x[has], y=((lo + hi) / 2)[has], height=(hi - lo)[has])
        self.setXRange(-0.6, max(0.6, len(names) - 0.4), padding=0.02)
        if y_range is None:
            shown = np.concatenate([[0.0], m, lo[has], hi[has]])
            pad = 0.08 * max(float(np.ptp(shown)), 1.0)
            y_range = (float(shown.min()) - pad, float(shown.max()) + pad)
        self.setYRange(*y_range, padding=0.0)
        self.set_names(names)


class AgreementPlot(_StaticPlot):
    """MOS of each stimulus against one metric, with the fitted VQEG logistic."""

    def __init__(self, metric: str, parent: QWidget | None = None) -> None:
        super().__init__(metric.upper(), "left", "MOS", parent)
        self.setLabel("bottom", metric)
        self.points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(40, 90, 170, 160), pen=None)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(200, 40, 40, width=2))
        self.addItem(self.points)
        self.addItem(self.curve)

    def set_data(self, x: Sequence[float], y: Sequence[float],
                 beta: Sequence[float] | None, title: str) -> None:
        self.setTitle(title, color="k")
        self.points.setData(list(x), list(y))
        if beta is not None and x and not any(math.isnan(b) for b in beta):
            grid = np.linspace(min(x), max(x), 200)
            self.curve.setData(grid, logistic4(grid, *beta))
        else:
            self.curve.setData([], [])
