"""The Results window's *Run evaluation…* dialog: what to evaluate into the open results database.

It only gathers an :class:`~srgan_desktop.core.evaluation.EvalRequest` — the Results window runs
it through the app's job pattern (:meth:`~srgan_desktop.ui.jobs.WorkerJobs.start`) with the one
:func:`~srgan_desktop.core.evaluation.run_evaluation` that ``eval --db`` runs too.

* **Benchmarks**: folders, an HR folder or a benchmark root holding ``HR/`` and
  ``LR_bicubic_xN/`` (else LR is made from HR with the MATLAB-compatible bicubic).
* **Methods**: bicubic, the HR images themselves (``hr``, NIQE's target) and every model of the
  app's model list (the one model resolver: bundled and user models); a model that cannot run is
  listed, greyed, with its reason.  Models run at their own scale; only bicubic is checked at
  first (a model costs minutes per benchmark on a CPU), then the window's last choices.
* **Measures**: the one measure registry (:data:`srgan_desktop.core.measures.MEASURES`), the
  default ones checked.
* **Scale** (of bicubic and hr) and **workers** (local processes).

Nothing is checked here beyond "something of each is chosen": the folders and models are checked
by the run, whose one-line error the window shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from srgan_desktop.core.evaluation import EvalRequest
from srgan_desktop.core.lab import HR
from srgan_desktop.core.measures import DEFAULT_MEASURES, MEASURES
from srgan_desktop.core.models import BICUBIC, ModelResolver

__all__ = ["EvalDialog"]

_SPEC = Qt.ItemDataRole.UserRole


def _checkable(text: str, spec: str, checked: bool, enabled: bool = True, tip: str = "") -> QListWidgetItem:
    item = QListWidgetItem(text)
    item.setData(_SPEC, spec)
    flags = Qt.ItemFlag.ItemIsUserCheckable | (Qt.ItemFlag.ItemIsEnabled if enabled else Qt.ItemFlag.NoItemFlags)
    item.setFlags(flags)
    item.setCheckState(Qt.CheckState.Checked if checked and enabled else Qt.CheckState.Unchecked)
    item.setToolTip(tip)
    return item


def _checked(box: QListWidget) -> tuple[str, ...]:
    return tuple(box.item(i).data(_SPEC) for i in range(box.count())
                 if box.item(i).checkState() == Qt.CheckState.Checked)


class EvalDialog(QDialog):
    """Choose benchmarks, methods, measures and scale; :meth:`request` is the evaluation to run."""

    def __init__(self, resolver: ModelResolver, parent: QWidget | None = None,
                 last: EvalRequest | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run evaluation")
        self.benchmark_list = QListWidget()
        add, remove = QPushButton("Add folder…"), QPushButton("Remove")
        add.clicked.connect(self._add_dialog)
        remove.clicked.connect(self._remove_selected)

        self.method_list = QListWidget()
        self.method_list.addItem(_checkable("bicubic", BICUBIC, True))
        self.method_list.addItem(_checkable("hr (the HR images themselves)", HR, False))
        for entry in resolver.entries():
            scale = f" (×{entry.scale})" if entry.scale else ""
            self.method_list.addItem(_checkable(f"{entry.title or entry.name}{scale}", entry.name, False,
                                                entry.available, entry.reason))
        self.measure_list = QListWidget()
        for name, m in MEASURES.items():
            self.measure_list.addItem(_checkable(f"{m.title} ({name})", name, name in DEFAULT_MEASURES,
                                                 tip=m.about))
        self.scale_spin = QSpinBox()
        self.scale_spin.setRange(2, 8)
        self.scale_spin.setValue(4)
        self.scale_spin.setToolTip("the scale of bicubic and hr; every model runs at its own scale")
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, max(1, os.cpu_count() or 1))
        self.workers_spin.setToolTip("local worker processes, each with cores/N threads")
        self.message = QLabel("")

        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("Benchmark folders:", self.benchmark_list)
        form.addRow("", folder_buttons)
        form.addRow("Methods:", self.method_list)
        form.addRow("Measures:", self.measure_list)
        form.addRow("Scale of bicubic / hr:", self.scale_spin)
        form.addRow("Workers:", self.workers_spin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if last is not None:  # the choices of the window's last run
            for folder in last.benchmarks:
                self.add_benchmark(folder)
            self.check_methods(list(last.methods))
            self.check_measures(list(last.measures))
            self.scale_spin.setValue(last.scale or 4)
            self.workers_spin.setValue(last.workers or 1)

    def add_benchmark(self, folder: str | Path) -> None:
        self.benchmark_list.addItem(str(folder))

    def _remove_selected(self) -> None:
        for item in self.benchmark_list.selectedItems():
            self.benchmark_list.takeItem(self.benchmark_list.row(item))

    def _add_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Benchmark folder (HR/ and LR_bicubic_xN/, or HR images)")
        if folder:
            self.add_benchmark(folder)

    def check_methods(self, specs: list[str]) -> None:
        """Check exactly these methods (by spec: ``bicubic``, ``hr`` or a model name)."""
        for i in range(self.method_list.count()):
            item = self.method_list.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setCheckState(Qt.CheckState.Checked if item.data(_SPEC) in specs else Qt.CheckState.Unchecked)

    def check_measures(self, names: list[str]) -> None:
        for i in range(self.measure_list.count()):
            item = self.measure_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(_SPEC) in names else Qt.CheckState.Unchecked)

    @property
    def benchmarks(self) -> tuple[Path, ...]:
        return tuple(Path(self.benchmark_list.item(i).text()) for i in range(self.benchmark_list.count()))

    def request(self, db: Path, lpips_net: str = "alex", lpips_backbone: str | Path | None = None) -> EvalRequest:
        """The evaluation chosen, into ``db``; LPIPS (if checked) with the app's network and
        backbone file (the settings' ``metrics/lpips_*``, as the comparison window uses them)."""
        return EvalRequest(db=Path(db), benchmarks=self.benchmarks, methods=_checked(self.method_list),
                           measures=_checked(self.measure_list), scale=self.scale_spin.value(),
                           workers=self.workers_spin.value(), lpips_net=lpips_net,
                           lpips_backbone=Path(lpips_backbone) if lpips_backbone else None)

    def accept(self) -> None:
        """Closes only with a benchmark, a method and a measure chosen."""
        missing = [what for what, chosen in (("a benchmark folder", self.benchmarks),
                                             ("a method", _checked(self.method_list)),
                                             ("a measure", _checked(self.measure_list))) if not chosen]
        if missing:
            self.message.setText(f"Choose {' and '.join(missing)}.")
            return
        super().accept()
