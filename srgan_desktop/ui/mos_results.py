"""The experimenter's results view: MOS table (with the subject model's scores), MOS ± CI bars,
score distributions, mean ranks, MOS per image, pairwise tests, BT.500 rater screening with
each rater's bias and inconsistency, test–retest agreement, sittings, and the metric ↔ MOS
agreement with scatter plots; exports, and every plot saved as PNG or SVG.

The plots are in ``ui/mos_plots.py``.  Warnings of the statistics ("too few ratings", BT.500
cannot flag anyone, ratings changed outside the app) are shown above the tabs.
The metric agreement (it reads every stimulus, then bootstraps) is computed on demand as a job
of the app's one job pattern (:class:`~srgan_desktop.ui.jobs.WorkerJobs`): Cancel stops it
within one stimulus or one metric, and closing the view cancels and joins it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QMessageBox, QPushButton, QScrollArea, QSizePolicy, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.mos.agreement import AGREEMENT_METRICS, Agreement, study_agreement, usable_stimuli
from srgan_desktop.mos.ratings_file import ExportError, sitting_records, write_csv, write_json
from srgan_desktop.mos.records import RatingRow
from srgan_desktop.mos.report import (format_ci, format_ci3, format_model_ci, format_retest, format_test_p,
                                      format_value)
from srgan_desktop.mos.stats import Analysis, analyse
from srgan_desktop.mos.store import Study
from srgan_desktop.ui.jobs import WorkerJobs
from srgan_desktop.ui.mos_plots import AgreementPlot, DistributionPlot, MeanRankPlot, MosBarPlot, save_plot

__all__ = ["ResultsView", "DistributionPlot", "MeanRankPlot", "MosBarPlot", "AgreementPlot",
           "save_plot"]


def _wrapping_label(text: str) -> QLabel:
    """A label that wraps and never widens the window: its text (a long study name, a path in a
    warning) takes the width it is given, not the width it would like."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(0)
    return label


def _table(headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.horizontalHeader().setResizeContentsPrecision(50)  # 1,428-row tables: size from 50 rows
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


SUMMARY_HEADERS = ["condition", "n", "MOS", "SD", "95% CI", "raters", "mean rank", "model score",
                   "model 95% CI"]
#: The summary of a paired-comparison study: every column has a name and a value.
PAIR_HEADERS = ["condition", "BT scale value", "95% CI", "wins", "choices"]
#: Shown in a paired-comparison study, where the score-only tabs are hidden.
PAIR_NOTE = ("Paired-comparison study: the choices give Bradley–Terry scale values (log-odds, mean 0; "
             "95 % bootstrap CI over raters) and the preference matrix. Pairwise tests, BT.500 rater "
             "screening, MOS per image and metric ↔ MOS agreement need 1–5 scores, so those tabs are "
             "hidden for this study.")
#: The tabs that only a study of 1–5 scores fills.
SCORE_ONLY_TABS = ("Pairwise tests", "Raters", "Per image", "Metrics")


def preference_cells(conditions: Sequence[str], wins: dict[str, dict[str, int]]
                     ) -> list[list[tuple[str, float]]]:
    """The preference matrix as (text, share) cells: row preferred to column, "k of n (p %)";
    the diagonal and pairs never compared are "–" with share NaN."""
    cells = []
    for a in conditions:
        row = []
        for b in conditions:
            won = wins.get(a, {}).get(b, 0)
            total = won + wins.get(b, {}).get(a, 0)
            if a == b or total == 0:
                row.append(("–", math.nan))
            else:
                row.append((f"{won} of {total} ({100 * won / total:.0f} %)", won / total))
        cells.append(row)
    return cells


class ResultsView(QWidget):
    """Shows the analysis of a study (or of imported rows) and exports its ratings."""

    #: the agreement job ended (done, failed or cancelled)
    agreementFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.study: Study | None = None
        self.rows: list[RatingRow] = []
        self.conditions: list[str] = []
        self.analysis: Analysis | None = None
        self.agreement: Agreement | None = None
        self.jobs = WorkerJobs(parent=self)

        self.heading = _wrapping_label("No study open")
        self.warnings_label = _wrapping_label("")
        self.warnings_label.setStyleSheet("color: #a33;")
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
        self.plots_button = QPushButton("Save plots…")
        self.plots_button.clicked.connect(self._save_plots_dialog)
        bar.addWidget(self.plots_button)

        self.summary_table = _table(SUMMARY_HEADERS)
        self.summary_table.setToolTip("model score: the Li & Bampis subject model (rater bias and "
                                      "inconsistency removed), as Netflix sureal's MLE_CO_AP2")
        self.distribution_plot = DistributionPlot()
        self.rank_plot = MeanRankPlot()
        self.mos_plot = MosBarPlot()
        self.preference_table = _table([])
        self.preference_table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.preference_table.setToolTip("how often the row's condition was preferred to the column's, "
                                         "of the times the two were shown together")
        self.preference_box = QWidget()
        preference_layout = QVBoxLayout(self.preference_box)
        preference_layout.setContentsMargins(0, 0, 0, 0)
        preference_layout.addWidget(QLabel("<b>Preferences</b>: row preferred to column"))
        preference_layout.addWidget(self.preference_table, 1)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.mos_plot)
        plots.addWidget(self.distribution_plot)
        plots.addWidget(self.rank_plot)
        plots.addWidget(self.preference_box)
        plots.setSizes([300, 500, 250, 500])
        self.pair_note = _wrapping_label(PAIR_NOTE)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.summary_table)
        splitter.addWidget(plots)
        splitter.setSizes([160, 340])
        overview = QWidget()
        overview_layout = QVBoxLayout(overview)
        overview_layout.setContentsMargins(0, 0, 0, 0)
        overview_layout.addWidget(self.pair_note)
        overview_layout.addWidget(splitter, 1)
        self.pairs = None

        self.pairwise_table = _table(["pair", "ΔMOS", "raters", "Wilcoxon W", "p", "p (Holm)",
                                      "Mann–Whitney U", "p", "p (Holm)"])
        self.screening_table = _table(["rater", "presentations", "P", "Q", "(P+Q)/n",
                                       "|P−Q|/(P+Q)", "flagged", "bias", "bias 95% CI",
                                       "inconsistency", "inconsistency 95% CI"])
        self.image_table = _table(["image", "condition", "n", "MOS", "SD", "95% CI", "raters"])
        self.sittings_table = _table(["rater", "sitting", "station", "start", "end", "ratings",
                                      "screen", "DPR", "magnification"])
        self.agreement_button = QPushButton("Compute metric ↔ MOS agreement")
        self.agreement_button.clicked.connect(lambda: self.compute_agreement())
        self.agreement_cancel = QPushButton("Cancel")
        self.agreement_cancel.setToolTip("stop computing the metrics")
        self.agreement_cancel.clicked.connect(self.cancel_agreement)
        self.agreement_cancel.setVisible(False)
        self.agreement_status = _wrapping_label("PSNR, SSIM and LPIPS against each stimulus's HR, NIQE "
                                                "alone; SROCC, Kendall and PLCC (VQEG logistic) with "
                                                "bootstrap 95 % intervals over images.")
        self.agreement_table = _table(["metric", "stimuli", "SROCC", "95% CI", "Kendall", "95% CI",
                                       "PLCC", "95% CI", "note"])
        self.agreement_plots = {m: AgreementPlot(m) for m in AGREEMENT_METRICS}
        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        for k, plot in enumerate(self.agreement_plots.values()):
            plot.setMinimumSize(280, 240)
            grid.addWidget(plot, k // 2, k % 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_widget)
        agreement_page = QWidget()
        agreement_layout = QVBoxLayout(agreement_page)
        top = QHBoxLayout()
        top.addWidget(self.agreement_status, 1)
        top.addWidget(self.agreement_button)
        top.addWidget(self.agreement_cancel)
        agreement_layout.addLayout(top)
        agreement_layout.addWidget(self.agreement_table)
        agreement_layout.addWidget(scroll, 1)
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
        self.tabs.addTab(self.image_table, "Per image")
        self.tabs.addTab(self.sittings_table, "Sittings")
        self.tabs.addTab(agreement_page, "Metrics")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.tabs, 1)
        self._set_buttons()

    def _set_buttons(self) -> None:
        has = bool(self.rows)
        for button in (self.csv_button, self.json_button, self.plots_button):
            button.setEnabled(has)
        self.refresh_button.setEnabled(self.study is not None)
        self.agreement_button.setEnabled(self.study is not None and has and not self.jobs.busy)
        self.agreement_cancel.setVisible(self.jobs.busy)

    def set_study(self, study: Study | None) -> None:
        if self.jobs.busy:
            self.stop_jobs()  # its result would belong to the study shown before
        self.study = study
        self.agreement = None
        self._show_agreement()
        self.reload()

    def reload(self) -> None:
        if self.study is None:
            self.set_rows([], [], "No study open")
            return
        try:  # a study edited outside the app (its seal broken) is refused, not summarised
            info = self.study.info()
            rows = self.study.rows()
        except SrganDesktopError as exc:
            self.set_rows([], [], f"<b>Results refused</b>: {exc}")
            return
        self.set_rows(rows, self.study.design.condition_keys,
                      f"<b>{self.study.name}</b> — {info.raters} rater(s), {info.complete_raters} "
                      f"complete, {info.ratings} rating(s); {info.trials_per_rater} trials per rater")

    def set_rows(self, rows: list[RatingRow], conditions: Sequence[str], heading: str = "") -> None:
        self.rows = list(rows)
        self.conditions = list(conditions)
        self.heading.setText(heading)
        self.refresh()

    def _show_kind(self, paired: bool) -> None:
        """The MOS tab's columns, plots and the tabs for a score study or a paired one."""
        headers = PAIR_HEADERS if paired else SUMMARY_HEADERS
        self.summary_table.setColumnCount(len(headers))
        self.summary_table.setHorizontalHeaderLabels(headers)
        self.tabs.setTabText(0, "Scale values" if paired else "MOS")
        self.pair_note.setVisible(paired)
        self.exclude_box.setVisible(not paired)  # BT.500 screening is for 1–5 scores
        self.preference_box.setVisible(paired)
        self.distribution_plot.setVisible(not paired)
        self.rank_plot.setVisible(not paired)
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) in SCORE_ONLY_TABS:
                self.tabs.setTabVisible(index, not paired)
        if not paired:
            self.pairs = None

    def _show_warnings(self, found: Sequence[str]) -> None:
        """The analysis' warnings, after any rating changed outside the app (the hash chain)."""
        warnings = list(found)
        if self.study is not None:
            try:
                warnings[:0] = [f"ratings changed outside the app: {p}" for p in self.study.verify_chain()]
            except SrganDesktopError as exc:
                warnings.insert(0, str(exc))
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))

    def _fill_sittings(self) -> None:
        sittings = sitting_records(self.study.sittings()) if self.study is not None else []
        _fill(self.sittings_table, [
            (r["rater"], r["sitting"], r["station"] or "this PC", r["started_at"], r["ended_at"],
             r["ratings"], f"{r['screen_width']}×{r['screen_height']}" if r["screen_width"] != "" else "–",
             r["device_pixel_ratio"], r["magnification"]) for r in sittings])

    def refresh(self) -> None:
        paired = self.study is not None and self.study.design.kind == "pc"
        self._show_kind(paired)
        if paired:
            self._refresh_pairs()
            return
        try:
            self.analysis = analyse(self.rows, self.conditions, exclude_flagged=self.exclude_box.isChecked())
        except SrganDesktopError as exc:  # e.g. an imported score that is not 1–5
            self.warnings_label.setText(str(exc))
            return
        a = self.analysis
        self.mos_plot.setTitle("MOS with 95 % CI", color="k")
        self.mos_plot.setLabel("left", "MOS")
        self._show_warnings(a.warnings)
        model = a.subject_model
        by_model = {c.condition: c for c in model.conditions} if model else {}
        _fill(self.summary_table, [
            (s.condition, s.n, format_value(s.mos), format_value(s.sd),
             format_ci(s.ci_low, s.ci_high, s.note), s.raters,
             format_value(a.mean_ranks.get(s.condition, math.nan)),
             format_value(by_model[s.condition].score) if s.condition in by_model else "–",
             format_model_ci(by_model[s.condition].ci_low, by_model[s.condition].ci_high, s.note)
             if s.condition in by_model else (model.note if model and model.note else "–"))
            for s in a.summary])
        self.mos_plot.set_data([s.condition for s in a.summary], [s.mos for s in a.summary],
                               [s.ci_low for s in a.summary], [s.ci_high for s in a.summary])
        _fill(self.image_table, [
            (c.image, c.condition, c.n, format_value(c.mos), format_value(c.sd),
             format_ci(c.ci_low, c.ci_high, c.note), c.raters) for c in a.per_image])
        self._fill_sittings()
        _fill(self.pairwise_table, [
            (f"{t.a} vs {t.b}", format_value(t.mos_diff), t.raters, format_value(t.wilcoxon_stat, 1),
             format_test_p(t.wilcoxon_p), format_test_p(t.wilcoxon_p_holm),
             format_value(t.mwu_stat, 1), format_test_p(t.mwu_p), format_test_p(t.mwu_p_holm))
            for t in a.pairwise])
        raters = {r.rater: r for r in model.raters} if model else {}
        none = ("–", "–", "–", "–")
        _fill(self.screening_table, [
            (s.rater, s.presentations, s.p, s.q, format_value(s.ratio, 3),
             format_value(s.balance, 3), "yes" if s.rejected else "no",
             *((f"{raters[s.rater].bias:+.2f}",
                format_model_ci(raters[s.rater].bias_ci_low, raters[s.rater].bias_ci_high),
                format_value(raters[s.rater].inconsistency),
                format_model_ci(raters[s.rater].inconsistency_ci_low, raters[s.rater].inconsistency_ci_high))
               if s.rater in raters else none))
            for s in a.screening],
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

    def _refresh_pairs(self) -> None:
        """A paired-comparison study: Bradley–Terry scale values (choix), their plot and the
        preference matrix in the first tab; the sittings; the score-only tabs hidden."""
        from srgan_desktop.mos.paired import analyse_pairs

        self.analysis = None
        try:
            result = analyse_pairs(self.rows, self.conditions)
        except SrganDesktopError as exc:
            self.warnings_label.setText(str(exc))
            self.warnings_label.setVisible(True)
            return
        self.pairs = result
        self._show_warnings(result.warnings)
        scale = sorted(result.scale, key=lambda v: -v.value)
        _fill(self.summary_table, [(v.condition, f"{v.value:+.2f}", format_ci(v.ci_low, v.ci_high),
                                    v.wins, v.comparisons) for v in scale])
        self.mos_plot.setTitle("Bradley–Terry scale value with 95 % CI", color="k")
        self.mos_plot.setLabel("left", "scale value (log-odds)")
        self.mos_plot.set_data([v.condition for v in scale], [v.value for v in scale],
                               [v.ci_low for v in scale], [v.ci_high for v in scale], y_range=None)
        names = [v.condition for v in scale] or list(result.conditions)
        cells = preference_cells(names, result.wins)
        table = self.preference_table
        table.setColumnCount(len(names))
        table.setHorizontalHeaderLabels(names)
        _fill(table, [[text for text, _ in row] for row in cells])
        table.verticalHeader().setVisible(True)
        table.setVerticalHeaderLabels(names)
        for r, row in enumerate(cells):
            for c, (_, share) in enumerate(row):
                table.item(r, c).setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if not math.isnan(share):  # white (never) … green (always preferred)
                    table.item(r, c).setBackground(QColor(int(255 - 135 * share), 255 - int(40 * share),
                                                          int(255 - 135 * share)))
        self._fill_sittings()
        self._set_buttons()
        self.agreement_button.setEnabled(False)

    # ------------------------------------------------------------ metric agreement
    def compute_agreement(self, wait: bool = False, metrics: Sequence[str] = AGREEMENT_METRICS,
                          resamples: int = 400) -> None:
        """Compute the metric ↔ MOS agreement as a job (``wait``: until it ends, for tests and
        scripts; the GUI thread keeps handling events meanwhile)."""
        if self.study is None or self.analysis is None or self.jobs.busy:
            return
        study, analysis, metrics = self.study, self.analysis, list(metrics)
        self.agreement_status.setText("Computing the metrics of every rated stimulus…")
        loop = QEventLoop() if wait else None
        if loop is not None:
            self.agreementFinished.connect(loop.quit)
        self.jobs.start(lambda token, _report: study_agreement(study, analysis, metrics, None, "alex", None,
                                                               resamples, check=token.raise_if_cancelled),
                        self._agreement_done, self._agreement_failed, cancelled=self._agreement_cancelled)
        self._set_buttons()
        if loop is not None:
            loop.exec()
            self.agreementFinished.disconnect(loop.quit)

    def cancel_agreement(self) -> None:
        """Stop the agreement job (within one stimulus or one metric); nothing is shown from it."""
        if self.jobs.busy:
            self.jobs.cancel()
            self.agreement_status.setText("Cancelling…")

    def _agreement_done(self, result: Agreement) -> None:
        self.agreement = result
        self.agreement_status.setText("Metric ↔ MOS agreement over the rated stimuli"
                                      + "".join(f" — {n}" for n in result.notes))
        self._agreement_ended()

    def _agreement_failed(self, message: str) -> None:
        self.agreement = None
        self.agreement_status.setText(f"The metrics could not be computed: {message}")
        self._agreement_ended()

    def _agreement_cancelled(self) -> None:
        self.agreement = None
        self.agreement_status.setText("Cancelled: the metric ↔ MOS agreement was not computed.")
        self._agreement_ended()

    def _agreement_ended(self) -> None:
        self._show_agreement()
        self._set_buttons()
        self.agreementFinished.emit()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        self.stop_jobs()
        super().closeEvent(event)

    def stop_jobs(self) -> None:
        """Cancel the agreement job and join its thread (the window closes, the study changes)."""
        if self.jobs.busy:
            self.jobs.stop()
            self.agreement_status.setText("Cancelled: the metric ↔ MOS agreement was not computed.")
        self._set_buttons()

    def _show_agreement(self) -> None:
        result = self.agreement
        _fill(self.agreement_table, [] if result is None else [
            (m.metric, m.stimuli, format_value(m.srocc, 3), format_ci3(*m.srocc_ci),
             format_value(m.krocc, 3), format_ci3(*m.krocc_ci), format_value(m.plcc, 3),
             format_ci3(*m.plcc_ci), m.note) for m in result.metrics])
        for name, plot in self.agreement_plots.items():
            found = next((m for m in result.metrics if m.metric == name), None) if result else None
            cells = usable_stimuli(result.stimuli, name) if result else []  # the table's stimuli
            title = name.upper() if found is None else (
                f"{name.upper()}: {found.note[:60]}" if found.note else
                f"{name.upper()}: SROCC {found.srocc:.3f}, PLCC {found.plcc:.3f}")
            plot.set_data([float(c.values[name]) for c in cells], [c.mos for c in cells],
                          None if found is None or found.note else found.logistic, title)

    # ------------------------------------------------------------ plots
    def plots(self) -> dict[str, pg.PlotWidget]:
        """Every plot by file-name stem."""
        shown = {"mos_ci": self.mos_plot, "distribution": self.distribution_plot,
                 "mean_rank": self.rank_plot}
        if self.agreement is not None:
            shown |= {f"agreement_{m}": p for m, p in self.agreement_plots.items()}
        return shown

    def save_plots(self, base: Path) -> list[Path]:
        """Write every plot as ``<base>_<plot>.png`` (or .svg when ``base`` ends in .svg)."""
        base = Path(base)
        suffix = ".svg" if base.suffix.lower() == ".svg" else ".png"
        stem = base.with_suffix("")
        return [save_plot(plot, stem.with_name(f"{stem.name}_{name}{suffix}"))
                for name, plot in self.plots().items()]

    def _save_plots_dialog(self) -> None:
        folder = self.study.folder if self.study else Path.home()
        self._ask_and_write("Save plots", "png", "PNG images (*.png);;SVG drawings (*.svg)",
                            self.save_plots, "Saving the plots failed", folder)

    def _ask_and_write(self, title: str, suffix: str, filters: str, write, failed: str,
                       folder: Path | None = None) -> None:
        """Ask for a file name and write it; errors in a box.  The default is named after the
        study, in ``folder`` (plots: the study's folder) or beside the study's folder (exports:
        the study's own files are never written over), never in the working directory."""
        name = self.study.folder.name if self.study else "results"
        if folder is None:
            folder = self.study.folder.parent if self.study else Path.home()
        path, _ = QFileDialog.getSaveFileName(self, title, str(folder / f"{name}.{suffix}"), filters)
        if not path:
            return
        try:
            write(Path(path))
        except ExportError as exc:
            QMessageBox.warning(self, failed, str(exc))

    def export_to(self, path: Path) -> Path:
        """Write the ratings shown (all raters) to ``path`` (.csv or .json)."""
        if path.suffix.lower() == ".json":
            from dataclasses import asdict

            from srgan_desktop.commands._common import jsonable

            shown = self.analysis if self.analysis is not None else self.pairs
            document = jsonable(asdict(shown), null_nan=True) if shown is not None else None
            if document is not None and self.agreement is not None:
                document["agreement"] = jsonable(asdict(self.agreement), null_nan=True)
            return write_json(path, self.rows, self.study.design.to_dict() if self.study else None,
                              sitting_records(self.study.sittings()) if self.study else (), document)
        return write_csv(path, self.rows)

    def _export(self, kind: str) -> None:
        self._ask_and_write("Export ratings", kind, "CSV (*.csv)" if kind == "csv" else "JSON (*.json)",
                            self.export_to, "Export failed")
