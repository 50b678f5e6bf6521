"""The Results window: a results database (``eval --db``) as a sortable table and the
perception–distortion plane — a thin view over :class:`srgan_desktop.compare.results_model.ResultsModel`.

* **Means**: method × benchmark × measure, the mean and its 95 % interval, sortable by any column
  (numbers sort as numbers), filtered by the benchmark and measure boxes.
* **Per image**: one row per image of the chosen benchmark, one column per method, for the chosen
  measure (the first of each when the boxes say "all").
* **Perception–distortion**: each method a point per benchmark at (mean PSNR, mean NIQE) after
  Blau & Michaeli (2018); one colour per benchmark, each point labelled with its method, and the
  HR images' own NIQE (the ``hr`` method, PSNR ∞) as a dashed line when it was measured.
* A double-click on a row (or a click on a point) opens that image — for the means, the
  benchmark's first image — in the comparison window (``on_open``), which runs the methods it
  knows among those measured on it.  Plots are saved as PNG or SVG (``save_plot``).
* **Run evaluation…** (:class:`~srgan_desktop.ui.eval_dialog.EvalDialog`: benchmark folders,
  models of the app's model list, measures of the one registry, scale) runs the one
  :func:`~srgan_desktop.core.evaluation.run_evaluation` of ``eval --db`` into this window's
  database through the app's job pattern (:meth:`~srgan_desktop.ui.jobs.WorkerJobs.start`):
  the bar counts cells done / total, *Cancel* stops between two images (what was written stays;
  running again finishes the rest), and the table and plane are read again at the end, also
  after a cancel or a failure.  A failure is the base error's one line, under the bar.
* **Open database…** / **New database…** show another database (a new one is created empty).
* LPIPS runs with the comparison session's network and backbone file (``settings``), the ones
  *Compare → LPIPS backbone weights…* chose — the same measure in both windows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QProgressBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from srgan_desktop.compare.results_model import DISTORTION, PERCEPTION, OpenTarget, PlanePoint, ResultsModel
from srgan_desktop.core.evaluation import EvalRequest, EvalSummary, run_evaluation
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.ui.eval_dialog import EvalDialog
from srgan_desktop.ui.jobs import WorkerJobs
from srgan_desktop.ui.mos_results import save_plot

__all__ = ["ResultsWindow", "ALL"]

ALL = "(all)"
_COLUMNS = ("method", "benchmark", "measure", "images", "mean", "95 % low", "95 % high")
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _item(value: object) -> QTableWidgetItem:
    """A read-only cell; numbers keep their value for sorting and show 4 significant decimals."""
    item = QTableWidgetItem()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        item.setData(Qt.ItemDataRole.DisplayRole, value if isinstance(value, int) else round(float(value), 4))
    else:
        item.setText("n/a" if value is None else str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ResultsWindow(QWidget):
    def __init__(self, path: str | Path, on_open: Callable[[OpenTarget], None] | None = None,
                 parent: QWidget | None = None, resolver: ModelResolver | None = None,
                 settings: Any = None) -> None:
        """``settings``: anything with ``lpips_net`` and ``lpips_backbone`` (the comparison
        session's), read when an evaluation starts, so LPIPS runs with the backbone the user chose."""
        super().__init__(parent)
        self.model = ResultsModel(path)
        self.settings = settings
        self.on_open = on_open
        self.resolver = resolver or ModelResolver.default()
        self.jobs = WorkerJobs(parent=self)
        self.eval_dialog: EvalDialog | None = None
        self.last_summary: EvalSummary | None = None
        self.last_request: EvalRequest | None = None
        self._done = (0, 0)
        self.resize(900, 600)
        self.benchmark_box, self.measure_box = QComboBox(), QComboBox()
        save = QPushButton("Save plot…")
        save.clicked.connect(self._save_plot_dialog)
        self.open_button, self.new_button = QPushButton("Open database…"), QPushButton("New database…")
        self.open_button.clicked.connect(self._open_database_dialog)
        self.new_button.clicked.connect(self._new_database_dialog)
        self.run_button = QPushButton("Run evaluation…")
        self.run_button.clicked.connect(self.run_evaluation_dialog)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m cells")
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)  # a long one-line error wraps instead of widening the window
        bar = QHBoxLayout()
        for widget in (QLabel("Benchmark"), self.benchmark_box, QLabel("Measure"), self.measure_box):
            bar.addWidget(widget)
        bar.addStretch(1)
        for widget in (self.open_button, self.new_button, self.run_button, save):
            bar.addWidget(widget)
        run_bar = QHBoxLayout()
        run_bar.addWidget(self.progress, 1)
        run_bar.addWidget(self.cancel_button)
        run_bar.addWidget(self.status, 1)

        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._open_mean_row)
        self.images_table = QTableWidget(0, 0)
        self.images_table.setSortingEnabled(True)
        self.images_table.cellDoubleClicked.connect(self._open_image_row)
        self.plot = pg.PlotWidget(title="Perception–distortion plane")
        self.plot.setBackground("w")
        self.plot.setLabel("bottom", "PSNR (dB), higher = less distortion")
        self.plot.setLabel("left", "NIQE, lower = more natural")
        self.plot.addLegend()
        self.points: list[PlanePoint] = []

        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Means")
        self.tabs.addTab(self.images_table, "Per image")
        self.tabs.addTab(self.plot, "Perception–distortion")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(run_bar)
        layout.addWidget(self.tabs)
        self.benchmark_box.currentTextChanged.connect(lambda _text: self.refresh())
        self.measure_box.currentTextChanged.connect(lambda _text: self.refresh())
        self._show_database()

    # --- the database -------------------------------------------------------------------

    def _show_database(self) -> None:
        """The title, the filter boxes (keeping their choice when still there) and the views."""
        self.setWindowTitle(f"Results — {self.model.path.name}")
        for box, names in ((self.benchmark_box, self.model.benchmarks), (self.measure_box, self.model.measures)):
            chosen = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems([ALL, *names])
            box.setCurrentText(chosen if chosen in names else ALL)
            box.blockSignals(False)
        self.refresh()

    def set_database(self, path: str | Path) -> None:
        """Show another results database (created empty when it does not exist)."""
        self.model = ResultsModel(path)
        self._show_database()

    def reload(self) -> None:
        """Read the database again (after an evaluation, or one run elsewhere)."""
        self.model.reload()
        self._show_database()

    def _open_database_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a results database", str(self.model.path.parent),
                                              "Results database (*.db *.sqlite);;All files (*)")
        self._switch(name)

    def _new_database_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "New results database", str(self.model.path.parent / "lab.db"),
                                              "Results database (*.db *.sqlite)")
        self._switch(name)

    def _switch(self, name: str) -> None:
        if name:
            try:
                self.set_database(name)
            except SrganDesktopError as exc:
                QMessageBox.warning(self, "Results", str(exc))

    # --- evaluating ---------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while an evaluation runs."""
        return self.jobs.busy

    def run_evaluation_dialog(self) -> EvalDialog:
        """The *Run evaluation…* dialog (not modal-blocking); *Run* starts the evaluation."""
        dialog = EvalDialog(self.resolver, self, self.last_request)
        dialog.accepted.connect(lambda: self.start_evaluation(dialog.request(self.model.path, *self._lpips())))
        self.eval_dialog = dialog
        dialog.open()
        return dialog

    def _lpips(self) -> tuple[str, str | None]:
        net = getattr(self.settings, "lpips_net", "") or "alex"
        return net, getattr(self.settings, "lpips_backbone", "") or None

    def start_evaluation(self, request: EvalRequest) -> None:
        """Run ``request`` (into this window's database) in the task worker, with the bar and Cancel."""
        if self.busy:
            return
        resolver, self.last_request = self.resolver, request
        self._done = (0, 0)
        self.progress.setRange(0, 0)  # planning: hashing images, loading models
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        for button in (self.run_button, self.open_button, self.new_button):
            button.setEnabled(False)
        self.status.setText("Planning…")
        self.jobs.start(lambda token, report: run_evaluation(request, report, token, resolver=resolver),
                        self._on_evaluated, self._on_failed, progress=self._on_progress,
                        cancelled=self._on_cancelled)

    def cancel_evaluation(self) -> None:
        if self.busy:
            self.jobs.cancel()
            self.status.setText("Cancelling after the image in flight…")

    def _on_progress(self, done: int, total: int) -> None:
        self._done = (done, total)
        self.progress.setFormat("%v / %m cells" if total else "every cell is stored")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done if total else 1)
        self.status.setText("Evaluating…" if total else "")

    def _finish(self, text: str) -> None:
        self.cancel_button.setVisible(False)
        for button in (self.run_button, self.open_button, self.new_button):
            button.setEnabled(True)
        self.reload()
        self.status.setText(text)

    def _on_evaluated(self, summary: EvalSummary) -> None:
        self.last_summary = summary
        skipped = "".join(f"; {label}: {reason}" for label, reason in summary.skipped)
        self._finish(f"cells: {summary.cached} cached, {summary.computed} computed "
                     f"({summary.images} images run){skipped}")

    def _on_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self._finish(f"Evaluation failed: {message}")

    def _on_cancelled(self) -> None:
        done, total = self._done
        self._finish(f"Cancelled: {done} of {total} cells written; Run evaluation again finishes the rest")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.jobs.stop()  # the image in flight finishes; no thread outlives the window
        super().closeEvent(event)

    # --- filling ------------------------------------------------------------------------

    @staticmethod
    def _choice(box: QComboBox) -> str | None:
        return None if box.currentText() == ALL else box.currentText()

    def refresh(self) -> None:
        benchmark, measure = self._choice(self.benchmark_box), self._choice(self.measure_box)
        rows = self.model.table(benchmark, measure)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, value in enumerate((r.method, r.dataset, r.measure, r.images, r.mean, r.lo, r.hi)):
                self.table.setItem(i, j, _item(value))
        self.table.setSortingEnabled(True)
        self._fill_images(benchmark or next(iter(self.model.benchmarks), None),
                          measure or next(iter(self.model.measures), None))
        self._fill_plane(benchmark)

    def _fill_images(self, benchmark: str | None, measure: str | None) -> None:
        self.images_benchmark = benchmark
        methods, rows = self.model.images(benchmark, measure) if benchmark and measure else ([], [])
        self.images_table.setSortingEnabled(False)
        self.images_table.clear()
        self.images_table.setColumnCount(1 + len(methods))
        self.images_table.setHorizontalHeaderLabels([f"image ({measure})", *methods])
        self.images_table.setRowCount(len(rows))
        for i, (image, values) in enumerate(rows):
            self.images_table.setItem(i, 0, _item(image))
            for j, value in enumerate(values):
                self.images_table.setItem(i, 1 + j, _item(value))
        self.images_table.setSortingEnabled(True)

    def _fill_plane(self, benchmark: str | None) -> None:
        self.plot.clear()
        self.points = [p for p in self.model.plane(DISTORTION, PERCEPTION)
                       if benchmark is None or p.dataset == benchmark]
        for k, dataset in enumerate(dict.fromkeys(p.dataset for p in self.points)):
            mine = [p for p in self.points if p.dataset == dataset]
            scatter = pg.ScatterPlotItem([p.distortion for p in mine], [p.perception for p in mine],
                                         size=11, brush=pg.mkBrush(_COLOURS[k % len(_COLOURS)]),
                                         data=mine, name=dataset)
            scatter.sigClicked.connect(self._point_clicked)
            self.plot.addItem(scatter)
            for p in mine:
                label = pg.TextItem(p.method, color="k", anchor=(0, 1))
                label.setPos(p.distortion, p.perception)
                self.plot.addItem(label)
            target = self.model.reference_perception(dataset)
            if target is not None:  # the HR images' own NIQE: what the methods aim at (PSNR ∞)
                self.plot.addItem(pg.InfiniteLine(
                    target, angle=0, label=f"hr ({dataset})", labelOpts={"color": "k", "position": 0.9},
                    pen=pg.mkPen(_COLOURS[k % len(_COLOURS)], style=Qt.PenStyle.DashLine)))
        self.plot.getPlotItem().getViewBox().autoRange(padding=0.12)

    # --- opening ------------------------------------------------------------------------

    def open_target(self, benchmark: str, image: str | None = None) -> OpenTarget | None:
        target = self.model.open_target(benchmark, image)
        if target is None:
            QMessageBox.information(self, "Results", f"{benchmark}: the database does not say where "
                                                     f"its HR images are")
        elif self.on_open is not None:
            self.on_open(target)
        return target

    def _open_mean_row(self, row: int, _column: int) -> None:
        self.open_target(self.table.item(row, 1).text())

    def _open_image_row(self, row: int, _column: int) -> None:
        if self.images_benchmark:
            self.open_target(self.images_benchmark, self.images_table.item(row, 0).text())

    def _point_clicked(self, _scatter, spots, *_args) -> None:
        if len(spots):
            self.open_target(spots[0].data().dataset)

    # --- export -------------------------------------------------------------------------

    def save_plot(self, path: str | Path) -> Path:
        """The perception–distortion plot as PNG or SVG (by the suffix)."""
        return save_plot(self.plot, Path(path))

    def _save_plot_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save plot", "perception_distortion.png",
                                              "PNG (*.png);;SVG (*.svg)")
        if name:
            try:
                self.save_plot(name)
            except SrganDesktopError as exc:
                QMessageBox.warning(self, "Save plot", str(exc))
